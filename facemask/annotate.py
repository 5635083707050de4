"""Drawing detections. Style goes to the constructor, per-frame data to `annotate`; input is never mutated."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facemask.types import Faces

COLORS = {"mask": (0, 200, 0), "no_mask": (0, 0, 230), "": (200, 200, 200)}
TEXT = {"mask": "Mask", "no_mask": "No Mask", "": "Face"}


def label_text(label: str, confidence: float, track_id: int = -1) -> str:
    text = TEXT.get(label, label)
    if not np.isnan(confidence):
        text += f" {confidence:.0%}"
    return f"#{track_id} {text}" if track_id >= 0 else text


@dataclass(frozen=True)
class FaceAnnotator:
    """Boxes with "Mask 97%" / "No Mask 92%" labels, green or red."""

    thickness: int = 2
    font_scale: float = 0.55

    def annotate(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        out = image.copy()
        confidence = faces.confidence
        for i in range(len(faces)):
            x1, y1, x2, y2 = (int(round(v)) for v in faces.xyxy[i])
            label = str(faces.label[i])
            color = COLORS.get(label, COLORS[""])
            cv2.rectangle(out, (x1, y1), (x2, y2), color, self.thickness)
            text = label_text(label, float(confidence[i]), int(faces.track_id[i]))
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, self.font_scale, 1)
            ty = y1 - 4 if y1 - th - base - 4 >= 0 else y2 + th + 4
            cv2.rectangle(out, (x1, ty - th - base), (x1 + tw + 4, ty + base), color, cv2.FILLED)
            cv2.putText(
                out, text, (x1 + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, self.font_scale, (255, 255, 255), 1, cv2.LINE_AA
            )
        return out


@dataclass(frozen=True)
class TextPanel:
    """Lines of status text (FPS, counters) in the top-left corner."""

    font_scale: float = 0.6

    def annotate(self, image: np.ndarray, lines: list[str], copy: bool = True) -> np.ndarray:
        """`copy=False` draws on `image` itself, for a caller that already owns a fresh copy."""
        out = image.copy() if copy else image
        for i, line in enumerate(lines):
            y = 24 + 24 * i
            cv2.putText(out, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, self.font_scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(out, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, self.font_scale, (255, 255, 255), 1, cv2.LINE_AA)
        return out
