"""Drawing detections. Style goes to the constructor, per-frame data to `annotate`; input is never mutated.

Box labels are sized from the picture's width, the status panel from its height (readable from 320 px
to 4K); text is kept inside the frame, and box labels are moved so that none covers another: what is
drawn is what a person can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from facemask.core.types import Faces

COLORS = {"mask": (0, 200, 0), "no_mask": (0, 0, 230), "incorrect_mask": (0, 191, 255), "": (200, 200, 200)}  # BGR
TEXT = {"mask": "Mask", "no_mask": "No Mask", "incorrect_mask": "Mask below nose", "": "Face"}
FONT = cv2.FONT_HERSHEY_SIMPLEX
Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels
REFERENCE_WIDTH = 960  # the width at which the constructor's font scale is used as given


def label_text(label: str, confidence: float, track_id: int = -1) -> str:
    text = TEXT.get(label, label)
    if not np.isnan(confidence):
        text += f" {confidence:.0%}"
    return f"#{track_id} {text}" if track_id >= 0 else text


def scaled(font_scale: float, width: int, least: float = 0.35) -> float:
    """A font scale for a picture `width` px wide: proportional, never smaller than `least`."""
    return max(least, font_scale * width / REFERENCE_WIDTH)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_label(
    box: tuple[int, int, int, int], size: tuple[int, int], frame: tuple[int, int], taken: list
) -> tuple[int, int, int, int]:
    """Where a `size` (w, h) label of `box` goes: above it, else below, inside the frame, clear of `taken`."""
    (w, h), (fw, fh) = size, frame
    x1, y1, _, y2 = box
    x = min(max(0, x1), max(0, fw - w))
    first = y1 - h if y1 - h >= 0 else min(y2, max(0, fh - h))
    candidates = [first + k * h for k in range(0, 8)] + [first - k * h for k in range(1, 8)]
    for y in candidates:
        rect = (x, y, x + w, y + h)
        if 0 <= y <= fh - h and not any(_overlaps(rect, t) for t in taken):
            return rect
    return (x, min(max(0, first), max(0, fh - h)), x + w, min(max(0, first), max(0, fh - h)) + h)


@dataclass(frozen=True)
class FaceAnnotator:
    """Boxes with "Mask 97%" / "No Mask 92%" / "Mask below nose 81%" labels, green, red or amber."""

    thickness: int = 2
    font_scale: float = 0.55

    def labels(self, faces: Faces, shape: tuple[int, ...], avoid: Sequence[Rect] = ()) -> list[tuple[int, str, Rect]]:
        """(face index, text, rectangle) of every label in a picture of `shape`: inside it, none overlapping
        another or a rectangle to `avoid` (the status panel)."""
        fh, fw = shape[:2]
        scale = scaled(self.font_scale, fw)
        confidence = faces.confidence
        taken: list[Rect] = list(avoid)
        placed = []
        for i in np.argsort(faces.xyxy[:, 1], kind="stable"):  # top to bottom, so labels stack downwards
            box = tuple(int(round(v)) for v in faces.xyxy[i])
            text = label_text(str(faces.label[i]), float(confidence[i]), int(faces.track_id[i]))
            (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
            rect = place_label(box, (tw + 4, th + base + 4), (fw, fh), taken)
            taken.append(rect)
            placed.append((int(i), text, rect))
        return placed

    def annotate(self, image: np.ndarray, faces: Faces, avoid: Sequence[Rect] = ()) -> np.ndarray:
        out = image.copy()
        scale = scaled(self.font_scale, out.shape[1])
        thickness = max(1, round(self.thickness * out.shape[1] / REFERENCE_WIDTH))
        for i in range(len(faces)):
            x1, y1, x2, y2 = (int(round(v)) for v in faces.xyxy[i])
            cv2.rectangle(out, (x1, y1), (x2, y2), COLORS.get(str(faces.label[i]), COLORS[""]), thickness)
        for i, text, (x1, y1, x2, y2) in self.labels(faces, out.shape, avoid):
            base = cv2.getTextSize(text, FONT, scale, 1)[1]
            cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), COLORS.get(str(faces.label[i]), COLORS[""]), cv2.FILLED)
            cv2.putText(out, text, (x1 + 2, y2 - base - 2), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
        return out


def wrap(line: str, scale: float, width: int, thickness: int = 1) -> list[str]:
    """`line` cut after its commas (then at its spaces) into pieces that fit `width` px at `scale`; a comma
    stays at the end of its piece."""
    pieces: list[str] = []
    for sep in (", ", " "):
        words, current = line.split(sep), ""
        words = [w + sep.strip() for w in words[:-1]] + words[-1:]
        pieces = []
        for word in words:
            trial = f"{current} {word}" if current else word
            if current and cv2.getTextSize(trial, FONT, scale, thickness)[0][0] > width:
                pieces.append(current)
                trial = word
            current = trial
        pieces.append(current)
        if all(cv2.getTextSize(p, FONT, scale, thickness)[0][0] <= width for p in pieces):
            return pieces
    return pieces


@dataclass(frozen=True)
class TextPanel:
    """Lines of status text (FPS, counters) in the top-left corner, sized from the picture's height and wrapped
    to its width: capitals `text_height` of the frame tall (about 18 px at 720p, 27 px at 1080p), so the panel
    reads at a glance on a recording played back at any size; a portrait frame wraps rather than shrinks."""

    text_height: float = 0.025  # capital height / frame height
    least: float = 0.4  # the smallest font scale, for thumbnails

    def layout(self, width: int, height: int, lines: list[str]) -> tuple[float, list[str]]:
        """The font scale and the wrapped lines for a `width` x `height` picture; shrinks only if a word won't fit."""
        scale = max(self.least, self.text_height * height / cv2.getTextSize("A", FONT, 1.0, 1)[0][1])
        room = width - 20
        while True:
            thick = _thickness(scale)
            wrapped = [piece for line in lines for piece in wrap(line, scale, room, thick)]
            if scale <= 0.25 or all(cv2.getTextSize(p, FONT, scale, thick)[0][0] <= room for p in wrapped):
                return scale, wrapped
            scale *= 0.9

    def extent(self, shape: tuple[int, ...], lines: list[str]) -> Rect:
        """The rectangle the panel covers in a picture of `shape` (height, width, ...)."""
        scale, wrapped = self.layout(shape[1], shape[0], lines)
        step = _line_step(scale)
        thick = _thickness(scale)
        right = max((cv2.getTextSize(p, FONT, scale, thick)[0][0] for p in wrapped), default=0)
        return (0, 0, 10 + right + 4, step * len(wrapped) + step // 2)

    def annotate(self, image: np.ndarray, lines: list[str], copy: bool = True) -> np.ndarray:
        """`copy=False` draws on `image` itself, for a caller that already owns a fresh copy."""
        out = image.copy() if copy else image
        scale, wrapped = self.layout(out.shape[1], out.shape[0], lines)
        step, thick = _line_step(scale), _thickness(scale)
        for i, line in enumerate(wrapped):
            y = step + step * i
            cv2.putText(out, line, (10, y), FONT, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
            cv2.putText(out, line, (10, y), FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)
        return out


def _thickness(scale: float) -> int:
    """Strokes that thicken with the text: 1 px up to scale 1.5, then 2, 3..."""
    return max(1, round(scale * 0.67))


def _line_step(scale: float) -> int:
    """Baseline to baseline: twice a line's height."""
    return cv2.getTextSize("Ag", FONT, scale, 1)[0][1] * 2
