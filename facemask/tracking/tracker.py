"""Face tracking: one id per person whatever the detection schedule, and a smoothed label per track.

Why this design (after ByteTrack, OC-SORT and BoT-SORT, sized for a crowd of faces):
- Each frame, the tracks first follow the camera (motion.py: sparse optical flow and a similarity fit,
  BoT-SORT's compensation), so a pan does not read as every person running.
- Association passes, each on what the previous left (association.py): (1) IoU between each recent
  track's *predicted* box and the detections, strong boxes before weak ones (ByteTrack's second
  association); (2) for boxes that no longer overlap (a fast head, a detector that ran 5 frames ago,
  frames dropped in real time), the centre distance in face sizes, at a similar size; (3) OC-SORT's
  observation-centric recovery: a confirmed track lost for longer keeps its *last observed* box for
  `relink_s` and takes back a face that reappears where it was last seen, or a little farther when it
  looks alike (reid.py). Motion: constant velocity, smoothed (ByteTrack's Kalman filter's steady state).
- ByteTrack's two score levels: a detection scoring `birth_score` starts a track, while weaker ones
  (down to the detector's cut) continue tracks; a weak box may start a track too, but one held to a
  stricter confirmation (`weak_min_hits` over `weak_confirm_s`): a spectator at the back, seen second
  after second, becomes a person; a hand that passes for a face on a few frames does not.
- A track is *tentative* until `min_hits` detections span `confirm_s`; only then does it get
  an id (ids are therefore people, not detector blips) and count. Tentative and untracked
  faces are still returned, with `track_id` -1, so they are drawn and written.
- Times are in seconds of stream time: `--detect-every N` changes how often the tracker is fed, not what it decides.
- The label is smoothed by an exponential moving average of the classifier's per-frame
  *decisions* with hysteresis around 0.5 (tracking/smoothing.py): one wrong frame cannot flip it,
  a sustained change does within a few readings, over two classes or three.
- No drawing, no I/O. Ids start at 1 and are never reused, not even after `reset()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from facemask.core.boxes import iou_matrix
from facemask.core.config import TrackerConfig
from facemask.core.types import Faces
from facemask.tracking import reid
from facemask.tracking.association import centre, closeness, greedy_match
from facemask.tracking.motion import CameraMotion, warp_boxes, warp_velocity
from facemask.tracking.smoothing import SmoothedLabel

log = logging.getLogger(__name__)

VELOCITY_ALPHA = 0.5  # weight of the newest velocity measurement
MISSES_ALLOWED = 1  # detector runs a track may miss, however long they take (sparse detection in real time)


@dataclass(eq=False)  # compared by identity
class _Track:
    """One person's state; only FaceTracker touches it."""

    box: np.ndarray  # xyxy at `last_seen`
    score: float
    first_seen: float
    last_seen: float
    velocity: np.ndarray  # box-centre velocity, px/s
    track_id: int = -1  # given at confirmation
    hits: int = 1
    first_strong: float | None = None  # the first strong detection: the usual confirmation counts from it
    strong_hits: int = 0  # detections since then
    misses: int = 0  # detector runs since the last match
    reading: SmoothedLabel = field(default_factory=SmoothedLabel)  # the smoothed label and probabilities
    look: np.ndarray = field(default_factory=lambda: np.full(reid.BINS**3, np.nan, np.float32))  # reid.looks
    born: np.ndarray = field(init=False)  # the first box: where a re-found person came back (reid.heir)

    def __post_init__(self) -> None:
        self.born = self.box.copy()

    def predicted_box(self, timestamp: float, horizon: float) -> np.ndarray:
        dt = min(max(0.0, timestamp - self.last_seen), horizon)
        shift = self.velocity * dt
        return self.box + np.array([shift[0], shift[1], shift[0], shift[1]], np.float32)

    def observe(self, box: np.ndarray, score: float, timestamp: float, horizon: float) -> None:
        dt = timestamp - self.last_seen
        if dt > horizon:  # back after a long gap: the old velocity says nothing any more
            self.velocity = np.zeros(2, np.float32)
        elif dt > 0:
            measured = (centre(box) - centre(self.box)) / dt
            self.velocity = (1 - VELOCITY_ALPHA) * self.velocity + VELOCITY_ALPHA * measured
        self.box, self.score, self.last_seen = box, score, timestamp
        self.hits += 1
        self.misses = 0


class FaceTracker:
    """`update(faces, t)` gives each detection its person's `track_id` and a smoothed label."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._last_time: float | None = None
        self._visible: list[_Track] = []  # tracks matched at the last update
        self._shown: list[_Track] = []  # every face of the last update, untracked weak boxes too
        self._camera = CameraMotion()

    def reset(self) -> None:
        """Forget every track (a new source). Ids keep counting, so no id ever means two people."""
        self._tracks, self._visible, self._shown = [], [], []
        self._last_time = None
        self._camera.reset()

    @property
    def ids_created(self) -> int:
        """Ids handed out so far: confirmed tracks, the tracker's count of people."""
        return self._next_id - 1

    def update(self, faces: Faces, timestamp: float, image: np.ndarray | None = None) -> Faces:
        """Associate this frame's detections with tracks; returns a new Faces, rows in input order.

        `image`, the frame the faces were found on, lets the tracks follow the camera (`follow_camera`) and
        a lost person be recognised by their look (reid.py); without it, position alone decides.
        """
        self._check_time(timestamp)
        self.follow_camera(image)
        cfg = self.config
        self._tracks = [t for t in self._tracks if not self._expired(t, timestamp)]
        strong = faces.score >= cfg.birth_score
        looks = reid.looks(image, faces.xyxy)
        owner = self._associate(faces.xyxy, strong, timestamp, looks)
        rows: list[_Track] = []
        for i in range(len(faces)):
            track = owner.get(i)
            if track is None:
                box, score = faces.xyxy[i].copy(), float(faces.score[i])
                track = _Track(box, score, timestamp, timestamp, np.zeros(2, np.float32))
                if strong[i] or cfg.weak_min_hits:
                    self._tracks.append(track)
                    owner[i] = track
            else:
                track.observe(faces.xyxy[i].copy(), float(faces.score[i]), timestamp, cfg.max_missed_s)
            if track.first_strong is None and strong[i]:
                track.first_strong = timestamp
            track.strong_hits += track.first_strong is not None
            track.look = reid.blend(track.look, looks[i])
            track.reading.read(
                float(faces.mask_prob[i]),
                float(faces.class_prob[i, 2]),
                str(faces.label[i]),
                cfg.smoothing_alpha,
                cfg.hysteresis,
            )
            track.reading.face_prob = float(faces.face_prob[i])
            if i in owner:
                self._maybe_confirm(track)
            rows.append(track)
        matched = set(map(id, owner.values()))
        for track in self._tracks:
            track.misses += id(track) not in matched
        self._visible, self._shown = list(owner.values()), rows
        tracked = self._faces(rows, faces.xyxy.copy(), faces.score.copy())
        return tracked.with_(
            raw_mask_prob=faces.mask_prob.copy(),
            raw_label=faces.label.copy(),
            raw_class_prob=faces.class_prob.copy(),
            face_prob=faces.face_prob.copy(),
        )

    def predict(self, timestamp: float, image: np.ndarray | None = None) -> Faces:
        """The faces of the last update (tracks moved to `timestamp`, and with the camera on `image`); nothing
        else of the state changes.

        For frames where the detector did not run. Tracks coasting through a miss are left out, as
        `update` leaves them out, so boxes appear and vanish at the same moments either way.
        """
        self.follow_camera(image)
        live = self._shown
        boxes = np.array([t.predicted_box(timestamp, self.config.max_missed_s) for t in live], np.float32)
        return self._faces(live, boxes.reshape(-1, 4), np.array([t.score for t in live], np.float32))

    def held_boxes(self, timestamp: float, lead_s: float = 0.0) -> np.ndarray:
        """Every face the tracker follows, at `timestamp`: the last update's faces and each track it still
        follows (tentative, or missing this detection: within `max_missed_s` or one missed run), moved there,
        each grown on every side by as far as its face moves in `lead_s` (where a prediction may be off).

        What `--blur` covers, so a face the detector missed once is blurred where it is carried to.
        """
        followed = [t for t in self._tracks if self._recent(t, timestamp)]
        held = followed + [t for t in self._shown if all(t is not f for f in followed)]
        boxes = np.array([t.predicted_box(timestamp, self.config.max_missed_s) for t in held], np.float32)
        reach = np.array([np.abs(t.velocity) * lead_s for t in held], np.float32).reshape(-1, 2)
        return boxes.reshape(-1, 4) + np.concatenate([-reach, reach], axis=1)

    def follow_camera(self, image: np.ndarray | None) -> None:
        """Move every track with the camera, from the last frame given to `image` (motion.CameraMotion)."""
        if image is None:
            return
        fit = self._camera.step(image, np.array([t.box for t in self._tracks], np.float32))
        if fit is not None:
            for track in self._tracks:  # followed ones only: a lost one waits where it was last seen (OC-SORT)
                if track.misses <= MISSES_ALLOWED:
                    track.box, track.velocity = warp_boxes(fit, track.box)[0], warp_velocity(fit, track.velocity)

    @property
    def active_tracks(self) -> int:
        """Tracks still alive: seen at the last update, coasting through a miss, or kept to re-link."""
        return len(self._tracks)

    def _associate(self, boxes: np.ndarray, strong: np.ndarray, t: float, looks: np.ndarray) -> dict[int, _Track]:
        """Detection index -> track: IoU (strong boxes, then weak ones: ByteTrack's second association), centre
        distance, then a lost track's re-link by where it was last seen and how it looked (strong boxes only)."""
        cfg = self.config
        recent = [k for k, tr in enumerate(self._tracks) if self._recent(tr, t)]
        lost = [k for k, tr in enumerate(self._tracks) if k not in recent and tr.track_id >= 0]
        predicted = np.array([tr.predicted_box(t, cfg.max_missed_s) for tr in self._tracks], np.float32).reshape(-1, 4)
        last = np.array([tr.box for tr in self._tracks], np.float32).reshape(-1, 4)
        seen = np.array([tr.look for tr in self._tracks], np.float32).reshape(-1, looks.shape[1])
        everyone = np.ones(len(boxes), bool)
        owner: dict[int, _Track] = {}

        def overlap(r: list[int], c: list[int]) -> np.ndarray:
            return iou_matrix(predicted[r], boxes[c])

        def relink(r: list[int], c: list[int]) -> np.ndarray:
            alike = reid.similarity(seen[r], looks[c])
            return reid.relink_score(closeness(last[r], boxes[c]), alike, cfg.relink_distance)

        passes = (
            (recent, overlap, cfg.iou_threshold, strong),
            (recent, overlap, cfg.iou_threshold, everyone),
            (recent, lambda r, c: closeness(predicted[r], boxes[c]), -cfg.match_distance, everyone),
            (lost, relink, -max(cfg.relink_distance, reid.REID_DISTANCE), strong),
        )
        for rows, score_fn, threshold, allowed in passes:
            taken = set(map(id, owner.values()))
            rows = [k for k in rows if id(self._tracks[k]) not in taken]
            cols = [i for i in range(len(boxes)) if i not in owner and allowed[i]]
            if not rows or not cols:
                continue
            score = score_fn(rows, cols)
            for r, c in greedy_match(score, threshold):
                owner[cols[c]] = self._tracks[rows[r]]
        return owner

    def _maybe_confirm(self, track: _Track) -> None:
        cfg = self.config
        eps = 1e-6  # float time sums
        strong_since = track.last_seen if track.first_strong is None else track.first_strong
        usual = track.strong_hits >= cfg.min_hits and track.last_seen - strong_since >= cfg.confirm_s - eps
        weak = 0 < cfg.weak_min_hits <= track.hits and track.last_seen - track.first_seen >= cfg.weak_confirm_s - eps
        if track.track_id < 0 and (usual or weak):
            lost = [t for t in self._tracks if t.track_id >= 0 and t.last_seen < track.first_seen]
            found = reid.heir([(t.box, t.look) for t in lost], track.born, track.look, cfg.relink_distance)
            if found >= 0:  # someone lost, back on a weak box: their id, their one count
                track.track_id = lost[found].track_id
                self._tracks.remove(lost[found])
                return
            track.track_id = self._next_id
            self._next_id += 1
            log.debug("track #%d confirmed at t=%.3f after %d detections", track.track_id, track.last_seen, track.hits)

    def _recent(self, track: _Track, timestamp: float) -> bool:
        """Within `max_missed_s` of its last detection, or missed no more than MISSES_ALLOWED detector runs."""
        return timestamp - track.last_seen <= self.config.max_missed_s or track.misses <= MISSES_ALLOWED

    def _expired(self, track: _Track, timestamp: float) -> bool:
        if track.track_id < 0:
            return not self._recent(track, timestamp)
        kept_s = self.config.max_missed_s + self.config.relink_s
        return timestamp - track.last_seen > kept_s and track.misses > MISSES_ALLOWED

    def _check_time(self, timestamp: float) -> None:
        if self._last_time is not None and timestamp < self._last_time:
            raise ValueError(f"tracker timestamps must not go backwards ({timestamp} after {self._last_time})")
        self._last_time = timestamp

    @staticmethod
    def _faces(tracks: list[_Track], boxes: np.ndarray, scores: np.ndarray) -> Faces:
        shown = [t.reading.shown() for t in tracks]
        readings = [t.reading for t in tracks]
        return Faces(
            xyxy=boxes,
            score=scores,
            mask_prob=[p for p, _ in shown],
            label=np.array([r.label for r in readings], dtype=object),
            track_id=[t.track_id for t in tracks],
            raw_mask_prob=[r.raw_mask_prob for r in readings],
            raw_label=np.array([r.raw_label for r in readings], dtype=object),
            class_prob=np.array([row for _, row in shown], np.float32).reshape(-1, 3),
            raw_class_prob=np.array([r.raw() for r in readings], np.float32).reshape(-1, 3),
            face_prob=[r.face_prob for r in readings],
        )
