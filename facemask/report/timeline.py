"""One source's per-frame JSON Lines records folded into what the report plots: people present, masked, unmasked.

A person is a face with a `track_id` (a confirmed track, as the summary defines it) and is masked or
unmasked by the label shown on that frame. A run made with `--no-track` has no ids: there every face
counts. Compliance by hour follows the summary's rule within each hour: a person is masked in that
hour when seen longer (more frames) with `mask` than with `no_mask` or `incorrect_mask` (a mask below the
nose, from a three-class model: not compliant, so unmasked; it also has a series of its own, `incorrect`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from facemask import FACE_LABELS
from facemask.core.labels import compliance_rate

HOUR_S = 3600.0


@dataclass
class Timeline:
    """The per-frame counts of one source, in frame order, and each hour's people by verdict.

    Each frame keeps two counts, people (faces with an id) and faces: which one is plotted is known
    only once the whole file is read (`tracked`: some face had an id). `incorrect`: some face read
    incorrect_mask (a three-class model ran), so that series is plotted too.
    """

    time_s: list[float] = field(default_factory=list)
    _counts: list[tuple[int, ...]] = field(default_factory=list)
    incorrect: bool = False
    tracked: bool = False
    _hours: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: [0, 0])))

    def add(self, record: dict) -> None:
        """Fold in one JSON Lines record (`time_s`, `faces`); records with a bad shape are the caller's to skip."""
        faces = [f for f in record.get("faces") or [] if isinstance(f, dict)]
        ids = [f for f in faces if isinstance(f.get("track_id"), int)]
        self.tracked = self.tracked or bool(ids)
        t = float(record["time_s"])
        self.time_s.append(t)
        counts = (*_count(ids), *_count(faces))
        self._counts.append(counts)
        self.incorrect = self.incorrect or counts[-1] > 0
        hour = self._hours[int(t // HOUR_S)]
        for face in ids:
            if face.get("label") in FACE_LABELS:
                hour[face["track_id"]][face["label"] != "mask"] += 1

    def counts(self) -> dict[str, np.ndarray]:
        """People present, masked and unmasked (and with a mask below the nose, once any was) per frame (faces,
        in a run made without tracking)."""
        table = np.asarray(self._counts, np.float64).reshape(-1, 8)
        table = table[:, 0:4] if self.tracked else table[:, 4:8]
        counts = {"people": table[:, 0], "masked": table[:, 1], "unmasked": table[:, 2]}
        return {**counts, "incorrect": table[:, 3]} if self.incorrect else counts

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def duration_s(self) -> float:
        return self.time_s[-1] - self.time_s[0] if self.time_s else 0.0

    def hourly(self) -> list[dict]:
        """Per hour of the run: people seen, masked and unmasked (by most frames), and their compliance rate."""
        rows = []
        for hour in sorted(self._hours):
            people = self._hours[hour]
            masked = sum(1 for m, n in people.values() if m > n)
            unmasked = sum(1 for m, n in people.values() if n > m)
            rows.append(
                {
                    "hour": hour,
                    "people": len(people),
                    "masked": masked,
                    "unmasked": unmasked,
                    "compliance_rate": compliance_rate(masked, unmasked),
                }
            )
        return rows

    def series(self, max_points: int) -> dict[str, list[float]]:
        """The plotted series: every frame, or at most `max_points` bins of equal time, each the mean of its frames."""
        t = np.asarray(self.time_s, np.float64)
        columns = self.counts()
        if len(t) <= max_points:
            return {"time_s": t.tolist(), **{k: v.tolist() for k, v in columns.items()}}
        edges = np.linspace(t[0], t[-1], max_points + 1)
        which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, max_points - 1)
        counts = np.bincount(which, minlength=max_points)
        keep = counts > 0
        out = {"time_s": ((edges[:-1] + edges[1:]) / 2)[keep].tolist()}
        for key, values in columns.items():
            out[key] = np.round(np.bincount(which, values, minlength=max_points)[keep] / counts[keep], 3).tolist()
        return out


def _count(faces: list[dict]) -> tuple[int, int, int, int]:
    """How many faces, how many read `mask`, how many are unmasked (`no_mask` or `incorrect_mask`), and of
    those how many read `incorrect_mask`."""
    labels = [f.get("label") for f in faces]
    wrong = labels.count("incorrect_mask")
    return len(faces), labels.count("mask"), labels.count("no_mask") + wrong, wrong
