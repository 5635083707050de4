"""The currency between pipeline stages: plain, validated dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded image from a source, with its position in the stream.

    `name` is the image's name in an image batch (its path as given), None for video frames.
    `events` are the alert events the monitor raised at this frame, for the outputs that record them.
    `clean` is the picture as decoded (its faces blurred with `--blur`) once the overlay has drawn on
    `image` (None: `image` is still clean), so an output that saves faces (the events' snapshots) never
    saves the drawing, and never an unblurred face when blurring was asked for.
    """

    image: np.ndarray
    index: int
    timestamp: float
    name: str | None = None
    events: tuple[dict, ...] = ()
    clean: np.ndarray | None = None

    @property
    def clean_image(self) -> np.ndarray:
        """The picture before any drawing (blurred with `--blur`), whether or not the overlay drew on this frame."""
        return self.image if self.clean is None else self.clean


def shown_confidence(label, mask_prob, incorrect_prob=0.0):
    """The probability of the shown label: P(mask) for `mask`, P(incorrect_mask) for `incorrect_mask`, else
    P(no_mask) = 1 - P(mask) - P(incorrect_mask) (a two-class model's 0, or NaN unread, leaves 1 - P(mask)).

    The one rule behind every confidence a user sees (records, overlay, events). Arrays in: a
    float64 array out; one label and one probability in: a float. NaN while unclassified.
    """
    p = np.asarray(mask_prob, np.float64)
    q = np.asarray(incorrect_prob, np.float64)
    label = np.asarray(label, dtype=object)
    conf = np.where(label == "mask", p, np.where(label == "incorrect_mask", q, 1.0 - p - np.nan_to_num(q)))
    return conf if conf.ndim else float(conf)


def _arr(values, dtype, shape_tail=()) -> np.ndarray:
    return np.asarray(values, dtype=dtype).reshape((-1, *shape_tail))


@dataclass
class Faces:
    """Parallel arrays describing the faces in one image.

    `xyxy` are pixel boxes in the original image. `mask_prob` is P(mask) from the
    classifier (NaN until classified); `label` is the label shown to the user, which the
    tracker may smooth, while `raw_label`/`raw_mask_prob` keep the per-frame reading. `landmarks`
    (eyes, nose tip, mouth corners) are NaN where the detector gives none. `class_prob` (and
    `raw_class_prob`) are the probabilities of FACE_LABELS (column 2, incorrect_mask, is 0 for a
    two-class model; `mask_prob` is column 0); `face_prob` is P(face) = 1 - P(not_face), 1.0 for a model
    without that output. Both are NaN until classified.
    """

    xyxy: np.ndarray
    score: np.ndarray
    mask_prob: np.ndarray = field(default=None)  # type: ignore[assignment]
    label: np.ndarray = field(default=None)  # type: ignore[assignment]
    track_id: np.ndarray = field(default=None)  # type: ignore[assignment]
    raw_mask_prob: np.ndarray = field(default=None)  # type: ignore[assignment]
    raw_label: np.ndarray = field(default=None)  # type: ignore[assignment]
    landmarks: np.ndarray = field(default=None)  # type: ignore[assignment]  # (N, 5, 2): eyes, nose, mouth corners
    class_prob: np.ndarray = field(default=None)  # type: ignore[assignment]  # (N, 3): FACE_LABELS
    raw_class_prob: np.ndarray = field(default=None)  # type: ignore[assignment]
    face_prob: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.xyxy = _arr(self.xyxy, np.float32, (4,))
        n = len(self.xyxy)
        self.score = _arr(self.score, np.float32)
        defaults = {
            "mask_prob": (np.full(n, np.nan, np.float32), np.float32),
            "label": (np.full(n, "", dtype=object), object),
            "track_id": (np.full(n, -1, np.int64), np.int64),
            "raw_mask_prob": (np.full(n, np.nan, np.float32), np.float32),
            "raw_label": (np.full(n, "", dtype=object), object),
            "face_prob": (np.full(n, np.nan, np.float32), np.float32),
        }
        for name, (default, dtype) in defaults.items():
            value = getattr(self, name)
            setattr(self, name, default if value is None else _arr(value, dtype))
        marks = np.full((n, 5, 2), np.nan, np.float32) if self.landmarks is None else self.landmarks
        self.landmarks = _arr(marks, np.float32, (5, 2))
        for name in ("class_prob", "raw_class_prob"):
            value = getattr(self, name)
            setattr(self, name, _arr(np.full((n, 3), np.nan) if value is None else value, np.float32, (3,)))
        for name in ("score", "landmarks", "class_prob", "raw_class_prob", *defaults):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Faces.{name} has {len(getattr(self, name))} rows, xyxy has {n}")

    @classmethod
    def empty(cls) -> Faces:
        return cls(xyxy=np.zeros((0, 4), np.float32), score=np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> Faces:
        """Filter with a boolean mask, an index array or a slice."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Faces(
            xyxy=self.xyxy[index],
            score=self.score[index],
            mask_prob=self.mask_prob[index],
            label=self.label[index],
            track_id=self.track_id[index],
            raw_mask_prob=self.raw_mask_prob[index],
            raw_label=self.raw_label[index],
            landmarks=self.landmarks[index],
            class_prob=self.class_prob[index],
            raw_class_prob=self.raw_class_prob[index],
            face_prob=self.face_prob[index],
        )

    def with_(self, **changes) -> Faces:
        """A copy with some arrays replaced; stages never mutate their input."""
        return replace(self, **changes)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of each shown label (float64; NaN where unclassified)."""
        return shown_confidence(self.label, self.mask_prob, self.class_prob[:, 2])

    @property
    def raw_confidence(self) -> np.ndarray:
        """The probability of each per-frame reading, before the tracker smoothed it."""
        return shown_confidence(self.raw_label, self.raw_mask_prob, self.raw_class_prob[:, 2])

    def to_records(self) -> list[dict]:
        """JSON-ready dicts in the CLI's documented format."""
        records = []
        confidence, raw_confidence = self.confidence, self.raw_confidence
        for i in range(len(self)):
            conf = float(confidence[i])
            rec = {
                "box": [int(round(v)) for v in self.xyxy[i]],
                "label": str(self.label[i]),
                "confidence": round(conf, 4) if not np.isnan(conf) else None,
                "face_confidence": round(float(self.score[i]), 4),
            }
            if self.track_id[i] >= 0:
                raw_conf = float(raw_confidence[i])
                rec["track_id"] = int(self.track_id[i])
                rec["raw_label"] = str(self.raw_label[i])
                rec["raw_confidence"] = round(raw_conf, 4) if not np.isnan(raw_conf) else None
            records.append(rec)
        return records
