"""Debounced violation alerts, live counters and the end-of-run summary.

Why this design:
- The monitor reads the tracker's *smoothed* labels, per track id, so an alert means "this
  person has been unmasked for `min_no_mask_s`", not "one frame looked unmasked". Each track
  raises one violation, then stays quiet until the person has been seen masked for
  `rearm_mask_s` (a `resolved` event marks that) or a new track begins.
- The monitor (ViolationMonitor) only decides and counts. Its events ride on the frame (AlertStage,
  stage.py) to the events output the caller builds (outputs.py; sinks.events.EventsSink: a small face
  crop saved as JPEG and one flushed JSON line per event, both cheap on the capture thread), which
  hands each violation to the actions: the beep and the user's `--on-violation` command run on one
  worker thread (alerts.actions.ActionWorker).
- A person is a track id: the tracker hands out ids only to confirmed tracks and keeps them
  across detector gaps, so a person counts once, and detector blips never. Whether a person
  wore a mask is decided by the time they were seen with each smoothed label, not by whether
  a violation fired: someone glimpsed unmasked for half a second is unmasked, though too
  brief for an alert. The definitions travel with the summary (`DEFINITIONS`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facemask import VIOLATING
from facemask.core.config import AlertConfig, TrackerConfig
from facemask.core.labels import compliance_rate, compliance_text
from facemask.core.types import Faces, Frame

log = logging.getLogger(__name__)

FORGET_S = 30.0  # per-track state unseen this long is folded into the totals; above the tracker's re-link time
MAX_FRAME_GAP_S = 1.0  # a longer gap between frames (a stall) adds at most this to a person's seen time

DEFINITIONS = {  # plain words, for a manager reading the report; the settings' values follow in the summary
    "person": f"one face followed from frame to frame: it counts once it has been seen clearly at least "
    f"{TrackerConfig.min_hits} times over at least {TrackerConfig.confirm_s:g} s "
    f"(a face seen only faintly: {TrackerConfig.weak_min_hits} times over {TrackerConfig.weak_confirm_s:g} s), and it "
    f"keeps its number while hidden for a moment, turned away, or back near where it was lost within "
    f"{TrackerConfig.relink_s:g} s, so each person counts once",
    "masked": "a person who was seen wearing a mask for longer than without one (unmasked: the reverse)",
    "compliance_rate": "masked people / people whose mask could be told",
    "masked_time_rate": "seconds people were seen masked / seconds they were seen with a mask or without one",
    "now_people": "people in the last frame (now_masked: those of them masked)",
    "violation": f"raised once when a person has been seen without a mask for {AlertConfig.min_no_mask_s:g} s in a "
    "row (by default; --violation-after sets it); no second one for that person until it is resolved",
    "resolved": f"follows a violation once that person has been seen masked for {AlertConfig.rearm_mask_s:g} s "
    "in a row",
    "violators": "people with at least one violation",
}
THREE_CLASS_DEFINITIONS = {  # added to DEFINITIONS when the model reads incorrect_mask (two-class summaries unchanged)
    "incorrect_mask": "a mask worn below the nose: not compliant, so seen as unmasked; it raises a violation "
    "like no_mask unless violation_on is no_mask",
    "now_incorrect": "people in the last frame with a mask worn below the nose",
}


def counter_lines(counters: dict) -> list[str]:
    """The live counters as the panel words them; the end-of-run line (`summary_line`) uses the same words.

    Now: who is masked in this frame. Then the run so far: people, violations (and how many were
    put right), and the share of person-time masked, which a person unmasked for a while lowers
    even when they end masked (per-person compliance, in the summary, would still say 100 %).
    """
    now = f"Now: {counters['now_masked']} of {counters['now_people']} masked"
    if "now_incorrect" in counters:  # a three-class model runs
        now += f", {counters['now_incorrect']} mask below nose"
    return [now, *_run_lines(counters)]


def _run_lines(counters: dict) -> list[str]:
    return [
        f"People {counters['people']}, violations {counters['violations']} ({counters['resolved']} resolved)",
        f"Masked {compliance_text(counters.get('masked_time_rate'))} of person-time",
    ]


def summary_line(summary: dict) -> str:
    """The end-of-run line a user reads: the panel's words for the run so far, on one line."""
    return ", ".join(line[0].lower() + line[1:] for line in _run_lines(summary))


TOTAL_KEYS = ("people", "masked", "unmasked", "violations", "violators", "resolved", "frames")


def total_summary(summaries: Sequence[dict]) -> dict:
    """Several sources' summaries added up: people, masked and unmasked people, violations, and the compliance
    rate of the sum (masked people / people with a known label, over every source)."""
    total = {key: sum(s.get(key, 0) for s in summaries) for key in TOTAL_KEYS}
    return {"sources": len(summaries), **total, "compliance_rate": compliance_rate(total["masked"], total["unmasked"])}


def total_line(total: dict) -> str:
    """`people 5, violations 3 (1 resolved), compliance 40% (2 of 5 masked)`: the closing line over all sources."""
    known = total["masked"] + total["unmasked"]
    return (
        f"people {total['people']}, violations {total['violations']} ({total['resolved']} resolved), "
        f"compliance {compliance_text(total['compliance_rate'])} ({total['masked']} of {known} masked)"
    )


@dataclass
class _TrackState:
    """One person's alert state and the time they were seen with each smoothed label."""

    last_seen: float
    no_mask_since: float | None = None
    mask_since: float | None = None
    armed: bool = True
    violated: bool = False
    mask_s: float = 0.0
    no_mask_s: float = 0.0
    label: str = ""  # the smoothed label last read

    @property
    def verdict(self) -> str | None:
        """`masked`, `unmasked`, or None while no labelled time decides it."""
        if self.mask_s == self.no_mask_s:
            return None
        return "masked" if self.mask_s > self.no_mask_s else "unmasked"


class ViolationMonitor:
    """`update(frame, faces)` turns the tracker's smoothed labels into debounced events, and returns them.

    It decides and counts; it writes nothing and runs nothing. Violation events carry
    `"snapshot": None` until an events output (sinks.events.EventsSink) saves the face.
    """

    def __init__(self, config: AlertConfig | None = None, multi_class: bool = False) -> None:
        """`multi_class`: the model reads incorrect_mask, so the counters, events and summary say so too."""
        self.config = config or AlertConfig()
        self.multi_class = multi_class
        self._violating = VIOLATING[self.config.violation_on]
        self._tracks: dict[int, _TrackState] = {}
        self._current: set[int] = set()
        self._totals = {
            "people": 0,
            "violations": 0,
            "violators": 0,
            "resolved": 0,
            "frames": 0,
            "masked": 0,
            "unmasked": 0,
            "mask_s": 0.0,
            "no_mask_s": 0.0,
        }  # masked/unmasked and their seconds: people whose state was forgotten
        self._first_time: float | None = None
        self._last_time: float | None = None

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        """Fold one frame's tracked faces in; returns the events it raised."""
        t = frame.timestamp
        if self._last_time is not None and t < self._last_time:
            log.info("time went back (%.3f -> %.3f): a new source; per-track alert state cleared", self._last_time, t)
            self._forget(float("inf"))
        dt = 0.0 if self._last_time is None else min(max(0.0, t - self._last_time), MAX_FRAME_GAP_S)
        self._first_time = t if self._first_time is None else self._first_time
        self._last_time = t
        self._totals["frames"] += 1
        self._current = {int(i) for i in faces.track_id if i >= 0}
        events = []
        for i in np.flatnonzero(faces.track_id >= 0):
            event = self._observe(frame, faces, int(i), dt)
            if event is not None:
                events.append(event)
        self._forget(t)
        source = self.config.source
        return [{"source": source, **event} for event in events] if source is not None else events

    def counters(self) -> dict:
        """Live figures for an overlay: people, masked and unmasked people, violations, compliance, in violation now."""
        verdicts = [s.verdict for s in self._tracks.values()]
        masked = self._totals["masked"] + verdicts.count("masked")
        unmasked = self._totals["unmasked"] + verdicts.count("unmasked")
        in_violation = sum(1 for k in self._current if k in self._tracks and not self._tracks[k].armed)
        now = [self._tracks[k].label for k in self._current if k in self._tracks]
        mask_s = self._totals["mask_s"] + sum(s.mask_s for s in self._tracks.values())
        no_mask_s = self._totals["no_mask_s"] + sum(s.no_mask_s for s in self._tracks.values())
        counters = {
            "people": self._totals["people"],
            "masked": masked,
            "unmasked": unmasked,
            "violations": self._totals["violations"],
            "compliance_rate": compliance_rate(masked, unmasked),
            "in_violation": in_violation,
            "now_people": len(now),
            "now_masked": now.count("mask"),
            "resolved": self._totals["resolved"],
            "masked_time_rate": compliance_rate(mask_s, no_mask_s),
        }
        if self.multi_class:
            counters["now_incorrect"] = now.count("incorrect_mask")
        return counters

    def summary(self, outputs: dict | None = None) -> dict:
        """End-of-run figures, JSON-ready; `outputs` (where the events went) come before the definitions."""
        duration = (self._last_time - self._first_time) if self._first_time is not None else 0.0
        return {
            **self.counters(),
            "violators": self._totals["violators"],
            "frames": self._totals["frames"],
            "duration_s": round(duration, 3),
            **(outputs or {}),
            "definitions": {
                **DEFINITIONS,
                **(THREE_CLASS_DEFINITIONS if self.multi_class else {}),
                "min_no_mask_s": self.config.min_no_mask_s,
                "rearm_mask_s": self.config.rearm_mask_s,
                **({"violation_on": list(self._violating)} if self.multi_class else {}),
            },
        }

    def _observe(self, frame: Frame, faces: Faces, i: int, dt: float) -> dict | None:
        t, track_id, label = frame.timestamp, int(faces.track_id[i]), str(faces.label[i])
        state = self._tracks.get(track_id)
        if state is None:  # the tracker gives ids to confirmed tracks only: a new id is a new person
            state = self._tracks[track_id] = _TrackState(last_seen=t)
            self._totals["people"] += 1
        state.last_seen = t
        state.label = label
        if label == "mask":
            state.mask_s += dt
        elif label:  # no_mask, incorrect_mask: not compliant
            state.no_mask_s += dt
        step = self._step(state, label, t)
        if step == "violation":
            return self._violation(frame, faces, i, state)
        if step == "resolved":
            self._totals["resolved"] += 1
            return {"event": "resolved", "track_id": track_id, "frame": frame.index, "time_s": round(t, 3)}
        return None

    def _step(self, state: _TrackState, label: str, t: float) -> str | None:
        """Advance one track's debounce state; unclassified readings change nothing.

        A label that violates (VIOLATING[violation_on]) counts toward a violation; one that does not, and is
        not `mask` (incorrect_mask with `--violation-on no_mask`), neither raises nor re-arms.
        """
        if label in self._violating:
            state.mask_since = None
            state.no_mask_since = t if state.no_mask_since is None else state.no_mask_since
            if state.armed and t - state.no_mask_since >= self.config.min_no_mask_s:
                state.armed = False
                return "violation"
        elif label == "mask":
            state.no_mask_since = None
            state.mask_since = t if state.mask_since is None else state.mask_since
            if not state.armed and t - state.mask_since >= self.config.rearm_mask_s:
                state.armed = True
                return "resolved"
        elif label:
            state.no_mask_since = state.mask_since = None
        return None

    def _forget(self, t: float) -> None:
        """Drop the state of people unseen for FORGET_S, keeping their verdict in the totals (bounded memory)."""
        for key in [k for k, s in self._tracks.items() if t - s.last_seen > FORGET_S]:
            state = self._tracks.pop(key)
            self._totals["mask_s"] += state.mask_s
            self._totals["no_mask_s"] += state.no_mask_s
            verdict = state.verdict
            if verdict is not None:
                self._totals[verdict] += 1

    def _violation(self, frame: Frame, faces: Faces, i: int, state: _TrackState) -> dict:
        if not state.violated:
            state.violated = True
            self._totals["violators"] += 1
        self._totals["violations"] += 1
        confidence = float(faces.confidence[i])  # of the violating label: a violation follows that reading
        event = {
            "event": "violation",
            "track_id": int(faces.track_id[i]),
            "frame": frame.index,
            "time_s": round(frame.timestamp, 3),
            "confidence": None if np.isnan(confidence) else round(confidence, 4),
            "snapshot": None,  # the events output fills it in when it saves the face
        }
        return {**event, "label": str(faces.label[i])} if self.multi_class else event
