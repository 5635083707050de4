"""Face tracking: stable ids across frames and a smoothed mask label per person.

Why this design:
- Association is IoU between each track's *predicted* box and the new detections, matched
  greedily (best IoU first). Faces in a webcam scene are few, so greedy costs nothing and
  rarely differs from an optimal assignment; a constant-velocity prediction is what keeps ids
  when two people cross, because at the crossing their last boxes overlap both detections
  equally while their predicted boxes do not.
- Tracks are kept for `max_missed_s` *seconds* after their last detection, so a blink of the
  detector or a hand over the face keeps the id at any frame rate. A track always gets the
  next update after its last sighting, so a slow detect-every-k schedule cannot expire every
  track between two detections.
- The label is smoothed by an exponential moving average of the classifier's per-frame
  *decisions* (1 = no_mask) with hysteresis around 0.5: one wrong frame cannot flip it, a
  sustained change does within a few readings. Voting on the classifier's decisions rather
  than its probabilities means the tracker needs no copy of the classifier's threshold.
  `mask_prob` is smoothed the same way, for the confidence shown beside the label.
- `predict(t)` moves the tracks seen at the last detection forward without touching state,
  so the pipeline can draw boxes on frames where the detector did not run.
- No drawing, no I/O. Ids are per instance, start at 1 and are never reused, not even after
  `reset()`, so downstream per-id state (alerts, JSON consumers) cannot mix two people up.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from facemask.boxes import iou_matrix
from facemask.config import TrackerConfig
from facemask.types import Faces

log = logging.getLogger(__name__)

VELOCITY_ALPHA = 0.5  # weight of the newest velocity measurement


@dataclass
class _Track:
    """One person's state; only FaceTracker touches it."""

    track_id: int
    box: np.ndarray  # xyxy at `last_seen`
    score: float
    last_seen: float
    velocity: np.ndarray  # box-centre velocity, px/s
    missed: int = 0  # updates since the last match
    mask_prob: float = float("nan")  # smoothed P(mask)
    vote: float = float("nan")  # smoothed no_mask decision in [0, 1]
    label: str = ""  # smoothed label
    raw_mask_prob: float = float("nan")
    raw_label: str = ""

    def predicted_box(self, timestamp: float) -> np.ndarray:
        dt = max(0.0, timestamp - self.last_seen)
        shift = self.velocity * dt
        return self.box + np.array([shift[0], shift[1], shift[0], shift[1]], np.float32)

    def observe(self, box: np.ndarray, score: float, timestamp: float) -> None:
        dt = timestamp - self.last_seen
        if dt > 0:
            measured = (_centre(box) - _centre(self.box)) / dt
            self.velocity = (1 - VELOCITY_ALPHA) * self.velocity + VELOCITY_ALPHA * measured
        self.box, self.score, self.last_seen = box, score, timestamp

    def read(self, prob: float, label: str, alpha: float, hysteresis: float) -> None:
        """Fold one classifier reading into the smoothed label; unclassified readings are ignored."""
        if label not in ("mask", "no_mask"):
            return
        self.raw_mask_prob, self.raw_label = prob, label
        decision = 1.0 if label == "no_mask" else 0.0
        if not self.label:  # first reading decides the first label
            self.mask_prob, self.vote, self.label = prob, decision, label
            return
        if not np.isnan(prob):
            self.mask_prob = prob if np.isnan(self.mask_prob) else (1 - alpha) * self.mask_prob + alpha * prob
        self.vote = (1 - alpha) * self.vote + alpha * decision
        if self.label == "mask" and self.vote >= 0.5 + hysteresis:
            self.label = "no_mask"
        elif self.label == "no_mask" and self.vote <= 0.5 - hysteresis:
            self.label = "mask"


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)


def greedy_match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(row, col) pairs, best IoU first, each row and column used once, IoU >= threshold."""
    rows, cols = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


class FaceTracker:
    """`update(faces, t)` gives each detection a stable `track_id` and a smoothed label."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._last_time: float | None = None
        self._visible: list[_Track] = []  # tracks matched at the last update

    def reset(self) -> None:
        """Forget every track (a new source). Ids keep counting, so no id ever means two people."""
        self._tracks, self._visible = [], []
        self._last_time = None

    def update(self, faces: Faces, timestamp: float) -> Faces:
        """Associate this frame's detections with tracks; returns a new Faces, rows in input order."""
        self._check_time(timestamp)
        self._tracks = [t for t in self._tracks if not self._expired(t, timestamp)]
        predicted = np.array([t.predicted_box(timestamp) for t in self._tracks], np.float32).reshape(-1, 4)
        pairs = greedy_match(iou_matrix(predicted, faces.xyxy), self.config.iou_threshold)
        owner: dict[int, _Track] = {c: self._tracks[r] for r, c in pairs}
        for track in self._tracks:
            track.missed += 1
        cfg = self.config
        for i in range(len(faces)):
            track = owner.get(i)
            if track is None:
                track = self._new_track(faces.xyxy[i], float(faces.score[i]), timestamp)
                owner[i] = track
            else:
                track.observe(faces.xyxy[i].copy(), float(faces.score[i]), timestamp)
            track.missed = 0
            track.read(float(faces.mask_prob[i]), str(faces.label[i]), cfg.smoothing_alpha, cfg.hysteresis)
        self._visible = [owner[i] for i in range(len(faces))]
        tracked = self._faces(self._visible, faces.xyxy.copy(), faces.score.copy())
        return tracked.with_(raw_mask_prob=faces.mask_prob.copy(), raw_label=faces.label.copy())

    def predict(self, timestamp: float) -> Faces:
        """Boxes of the tracks seen at the last update, moved to `timestamp`; state is unchanged.

        For frames where the detector did not run. Tracks coasting through a miss are left out, as
        `update` leaves them out, so boxes appear and vanish at the same moments either way.
        """
        live = self._visible
        boxes = np.array([t.predicted_box(timestamp) for t in live], np.float32).reshape(-1, 4)
        return self._faces(live, boxes, np.array([t.score for t in live], np.float32))

    @property
    def active_tracks(self) -> int:
        """Tracks still alive, seen at the last update or coasting through a miss."""
        return len(self._tracks)

    def _expired(self, track: _Track, timestamp: float) -> bool:
        return track.missed > 0 and timestamp - track.last_seen > self.config.max_missed_s

    def _new_track(self, box: np.ndarray, score: float, timestamp: float) -> _Track:
        track = _Track(self._next_id, box.copy(), score, timestamp, np.zeros(2, np.float32))
        self._next_id += 1
        self._tracks.append(track)
        log.debug("new track #%d at t=%.3f", track.track_id, timestamp)
        return track

    def _check_time(self, timestamp: float) -> None:
        if self._last_time is not None and timestamp < self._last_time:
            raise ValueError(f"tracker timestamps must not go backwards ({timestamp} after {self._last_time})")
        self._last_time = timestamp

    @staticmethod
    def _faces(tracks: list[_Track], boxes: np.ndarray, scores: np.ndarray) -> Faces:
        return Faces(
            xyxy=boxes,
            score=scores,
            mask_prob=[t.mask_prob for t in tracks],
            label=np.array([t.label for t in tracks], dtype=object),
            track_id=[t.track_id for t in tracks],
            raw_mask_prob=[t.raw_mask_prob for t in tracks],
            raw_label=np.array([t.raw_label for t in tracks], dtype=object),
        )
