"""Boxes a person looked at: faces nobody annotated, and candidates that are not faces.

The scenes' annotations miss many real faces (background, blurred, in profile), so a scored
"false positive" may be a face. evaluation/sheets.py draws the unmatched boxes on contact
sheets; what a person decides (tools/by_eye_labels.py) is kept in a JSON file of `{"scene", "box", "label"}` entries.
A detector's box takes the label of a looked-at box in the same scene that it overlaps at
IoU >= MATCH_IOU, so the labels outlive small changes to the detector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facemask.core.boxes import iou_matrix

MATCH_IOU = 0.6
LABELS = ("face", "not_face", "undecided")  # undecided: a person looked and could not tell


@dataclass(frozen=True)
class ByEye:
    """Looked-at boxes per scene: `label(scene, xyxy)` -> "face", "not_face" or None (nobody looked)."""

    boxes: dict[str, np.ndarray]
    labels: dict[str, list[str]]

    @classmethod
    def load(cls, *paths: Path) -> ByEye:
        """The labels of one or more files (each detector's sheets add a file; the first file's label wins)."""
        boxes: dict[str, list] = {}
        labels: dict[str, list[str]] = {}
        for path, entry in ((p, e) for p in paths for e in json.loads(Path(p).read_text())["boxes"]):
            if entry["label"] not in LABELS:
                raise ValueError(f"{path}: label {entry['label']!r} is not one of {LABELS}")
            boxes.setdefault(entry["scene"], []).append(entry["box"])
            labels.setdefault(entry["scene"], []).append(entry["label"])
        return cls({s: np.asarray(b, np.float32).reshape(-1, 4) for s, b in boxes.items()}, labels)

    def label(self, scene: str, xyxy: np.ndarray) -> list[str | None]:
        xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        if scene not in self.boxes or not len(xyxy):
            return [None] * len(xyxy)
        overlaps = iou_matrix(xyxy, self.boxes[scene])
        best = overlaps.argmax(axis=1)
        return [self.labels[scene][j] if overlaps[i, j] >= MATCH_IOU else None for i, j in enumerate(best)]


def entry(scene: str, box: np.ndarray, label: str) -> dict:
    """One looked-at box as the JSON file keeps it (whole pixels)."""
    return {"scene": scene, "box": [int(round(float(v))) for v in box], "label": label}


def by_eye_precision(true_positives: int, unmatched: list[str | None]) -> dict:
    """Precision (faces >= 32 px) once a person has looked at the unmatched boxes.

    `unmatched`: the label of every box that matched no annotated face (None: nobody looked at it).
    Only boxes labelled a face count as right; undecided ones and those nobody looked at count as wrong.
    """
    faces = sum(label == "face" for label in unmatched)
    counted = true_positives + len(unmatched)
    return {
        "precision_ge32_by_eye": round((true_positives + faces) / counted, 4) if counted else None,
        "unmatched": len(unmatched),
        "faces": faces,
        "not_faces": sum(label == "not_face" for label in unmatched),
        "undecided": sum(label == "undecided" for label in unmatched),
        "not_looked_at": sum(label is None for label in unmatched),
    }
