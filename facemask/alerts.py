"""Debounced violation alerts, live counters and the end-of-run summary.

Why this design:
- The monitor reads the tracker's *smoothed* labels, per track id, so an alert means "this
  person has been unmasked for `min_no_mask_s`", not "one frame looked unmasked". Each track
  raises one violation, then stays quiet until the person has been seen masked for
  `rearm_mask_s` (a `resolved` event marks that) or a new track begins.
- Everything on the capture thread is cheap: a small face crop saved as JPEG and one flushed
  JSON line per event. The beep and the user's `--on-violation` command run on one worker
  thread fed by a bounded queue; when it falls behind, jobs are dropped and counted rather
  than ever blocking the capture loop, and `close()` joins the worker with a timeout.
- A person is a track id: the tracker hands out ids only to confirmed tracks and keeps them
  across detector gaps, so a person counts once, and detector blips never. Whether a person
  wore a mask is decided by the time they were seen with each smoothed label, not by whether
  a violation fired: someone glimpsed unmasked for half a second is unmasked, though too
  brief for an alert. The definitions travel with the summary (`DEFINITIONS`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facemask.boxes import expand_square
from facemask.config import AlertConfig
from facemask.errors import FacemaskError
from facemask.labels import compliance_rate, compliance_text
from facemask.safeio import StreamingFile
from facemask.types import Faces, Frame

log = logging.getLogger(__name__)

SNAPSHOT_MARGIN = 0.25  # context around the face in the saved crop, per side
FORGET_S = 30.0  # per-track state unseen this long is folded into the totals; above the tracker's re-link time
MAX_FRAME_GAP_S = 1.0  # a longer gap between frames (a stall) adds at most this to a person's seen time

DEFINITIONS = {
    "person": "a confirmed track: a face detected at least TrackerConfig.min_hits times over at least "
    "TrackerConfig.confirm_s seconds; its id survives detector gaps, so each person counts once",
    "masked": "a person seen longer with the smoothed label mask than no_mask (unmasked: the reverse)",
    "compliance_rate": "masked people / people with a known label",
    "violation": "raised once when a person has read no_mask for min_no_mask_s seconds; "
    "no second one until a resolved event",
    "resolved": "follows a violation once that person has read mask for rearm_mask_s seconds; re-arms the alert",
    "violators": "people with at least one violation",
}
CLOSE_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0


def snapshot_dir_for(events_path: Path) -> Path:
    """Default snapshot folder: `<events-stem>_snapshots/` beside the events file."""
    return events_path.parent / f"{events_path.stem}_snapshots"


def counter_lines(counters: dict) -> list[str]:
    """The live counters as lines for `annotate.TextPanel`."""
    return [
        f"People: {counters['people']}  Masked: {counters['masked']}  No mask: {counters['unmasked']}",
        f"Compliance: {compliance_text(counters.get('compliance_rate'))}  Violations: {counters['violations']}",
    ]


class ActionWorker:
    """Runs the beep and the user's command for each event on one background thread."""

    def __init__(self, beep: bool, command: str | None, maxsize: int) -> None:
        self.beep, self.command = beep, command
        self.dropped = 0
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize)
        self._running: subprocess.Popen | None = None  # the command now running, in its own process group
        self._thread = threading.Thread(target=self._run, name="facemask-alert-actions", daemon=True)
        self._thread.start()

    def submit(self, event: dict) -> None:
        """Queue the actions for an event; never waits. A full queue drops the job."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            log.warning("alert actions are falling behind; dropped the one for track %s", event.get("track_id"))

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Let queued jobs finish within `timeout`, then stop waiting (the thread is a daemon)."""
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("alert actions still running after %.0f s; stopping them", timeout)
            self._stop_running()
            self._thread.join(1.0)

    def _stop_running(self) -> None:
        """End the running command and everything it started (its process group), so none outlives the run."""
        proc = self._running
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
            try:
                os.killpg(proc.pid, sig)  # the group id is the shell's pid, still ours until it is reaped
            except (ProcessLookupError, PermissionError):
                return
            try:
                proc.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._act(event)
            except Exception:  # a failing action must not kill the worker and silence later alerts
                log.exception("alert action failed")

    def _act(self, event: dict) -> None:
        if self.beep:
            sys.stderr.write("\a")
            sys.stderr.flush()
        if not self.command:
            return
        env = {**os.environ, "FACEMASK_EVENT": json.dumps(event)}
        # Its own process group: Ctrl-C in the terminal reaches us, not it, and on a timeout or at
        # close() the whole group (the shell and what it started) is ended together.
        self._running = subprocess.Popen(
            self.command, shell=True, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            returncode = self._running.wait(COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("--on-violation command ran over %.0f s and was stopped", COMMAND_TIMEOUT_S)
            self._stop_running()
            return
        finally:
            if self._running.poll() is not None:
                self._running = None
        if returncode:
            log.warning("--on-violation command exited with status %d", returncode)


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

    @property
    def verdict(self) -> str | None:
        """`masked`, `unmasked`, or None while no labelled time decides it."""
        if self.mask_s == self.no_mask_s:
            return None
        return "masked" if self.mask_s > self.no_mask_s else "unmasked"


class ViolationMonitor:
    """`update(frame, faces)` turns the tracker's smoothed labels into debounced events."""

    def __init__(self, config: AlertConfig | None = None, snapshot_dir: Path | None = None) -> None:
        self.config = config or AlertConfig()
        events_path = self.config.events_path
        if snapshot_dir is None and events_path is not None:
            snapshot_dir = snapshot_dir_for(events_path)
        self.snapshot_dir = snapshot_dir
        self._events_file = _open_events(events_path) if events_path is not None else None
        self._worker: ActionWorker | None = None
        if self.config.beep or self.config.on_violation:
            self._worker = ActionWorker(self.config.beep, self.config.on_violation, self.config.action_queue)
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
        }  # masked/unmasked: people whose state was forgotten
        self._first_time: float | None = None
        self._last_time: float | None = None
        self._closed = False

    def __enter__(self) -> ViolationMonitor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        """Fold one frame's tracked faces in; returns the events it raised (already written)."""
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
                self._emit(event)
        self._forget(t)
        return events

    def counters(self) -> dict:
        """Live figures for an overlay: people, masked and unmasked people, violations, compliance, in violation now."""
        verdicts = [s.verdict for s in self._tracks.values()]
        masked = self._totals["masked"] + verdicts.count("masked")
        unmasked = self._totals["unmasked"] + verdicts.count("unmasked")
        in_violation = sum(1 for k in self._current if k in self._tracks and not self._tracks[k].armed)
        return {
            "people": self._totals["people"],
            "masked": masked,
            "unmasked": unmasked,
            "violations": self._totals["violations"],
            "compliance_rate": compliance_rate(masked, unmasked),
            "in_violation": in_violation,
        }

    def summary(self) -> dict:
        """End-of-run figures, JSON-ready."""
        duration = (self._last_time - self._first_time) if self._first_time is not None else 0.0
        return {
            **self.counters(),
            "violators": self._totals["violators"],
            "resolved": self._totals["resolved"],
            "frames": self._totals["frames"],
            "duration_s": round(duration, 3),
            "events_path": str(self.config.events_path) if self.config.events_path else None,
            "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
            "dropped_actions": self._worker.dropped if self._worker else 0,
            "definitions": {
                **DEFINITIONS,
                "min_no_mask_s": self.config.min_no_mask_s,
                "rearm_mask_s": self.config.rearm_mask_s,
            },
        }

    def close(self) -> None:
        """Finish queued actions (bounded wait) and close the events file; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.close()
        if self._events_file is not None:
            self._events_file.close()

    def _observe(self, frame: Frame, faces: Faces, i: int, dt: float) -> dict | None:
        t, track_id, label = frame.timestamp, int(faces.track_id[i]), str(faces.label[i])
        state = self._tracks.get(track_id)
        if state is None:  # the tracker gives ids to confirmed tracks only: a new id is a new person
            state = self._tracks[track_id] = _TrackState(last_seen=t)
            self._totals["people"] += 1
        state.last_seen = t
        if label == "mask":
            state.mask_s += dt
        elif label == "no_mask":
            state.no_mask_s += dt
        step = self._step(state, label, t)
        if step == "violation":
            return self._violation(frame, faces, i, state)
        if step == "resolved":
            self._totals["resolved"] += 1
            return {"event": "resolved", "track_id": track_id, "frame": frame.index, "time_s": round(t, 3)}
        return None

    def _step(self, state: _TrackState, label: str, t: float) -> str | None:
        """Advance one track's debounce state; unclassified readings change nothing."""
        if label == "no_mask":
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
        return None

    def _forget(self, t: float) -> None:
        """Drop the state of people unseen for FORGET_S, keeping their verdict in the totals (bounded memory)."""
        for key in [k for k, s in self._tracks.items() if t - s.last_seen > FORGET_S]:
            verdict = self._tracks.pop(key).verdict
            if verdict is not None:
                self._totals[verdict] += 1

    def _violation(self, frame: Frame, faces: Faces, i: int, state: _TrackState) -> dict:
        if not state.violated:
            state.violated = True
            self._totals["violators"] += 1
        self._totals["violations"] += 1
        confidence = float(faces.confidence[i])  # of `no_mask`: a violation follows that reading
        snapshot = self._snapshot(frame, faces.xyxy[i], int(faces.track_id[i]))
        return {
            "event": "violation",
            "track_id": int(faces.track_id[i]),
            "frame": frame.index,
            "time_s": round(frame.timestamp, 3),
            "confidence": None if np.isnan(confidence) else round(confidence, 4),
            "snapshot": str(snapshot) if snapshot else None,
        }

    def _snapshot(self, frame: Frame, box: np.ndarray, track_id: int) -> Path | None:
        """Save the face with some context; a failure is logged, never fatal mid-stream."""
        if self.snapshot_dir is None:
            return None
        h, w = frame.image.shape[:2]
        x1, y1, x2, y2 = expand_square(box, SNAPSHOT_MARGIN, w, h)
        crop = frame.image[y1:y2, x1:x2]
        path = self.snapshot_dir / f"track{track_id:04d}_frame{frame.index:06d}.jpg"
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            saved = crop.size > 0 and cv2.imwrite(str(path), crop)
        except (OSError, cv2.error) as exc:
            log.warning("%s: cannot save snapshot (%s)", path, exc)
            return None
        if not saved:
            log.warning("%s: cannot save snapshot", path)
            return None
        return path

    def _emit(self, event: dict) -> None:
        log.info("%s", json.dumps(event))
        if self._events_file is not None:
            self._events_file.write(json.dumps(event) + "\n")  # flushed; a failed write is one error line
        if self._worker is not None and event["event"] == "violation":
            self._worker.submit(event)


def _open_events(path: Path) -> StreamingFile:
    """The events file, written line by line to `NAME.partial-*.jsonl` and renamed into place at close."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot write events ({exc.strerror})") from None
    return StreamingFile(path)
