"""Box maths shared by the detector, the crops and the tracker."""

from __future__ import annotations

import numpy as np


def clip_boxes(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip pixel boxes to the image."""
    out = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def box_sizes(xyxy: np.ndarray) -> np.ndarray:
    """Shorter side of each box, the measure that decides whether a face is usable."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    return np.minimum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two sets of xyxy boxes, shape (len(a), len(b))."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def expand_square(box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around the box, `margin` of its side added each way, clipped to the image.

    Training and inference both crop faces through this, so they see the same framing.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    half = side / 2
    nx1, ny1 = int(round(max(0, cx - half))), int(round(max(0, cy - half)))
    nx2, ny2 = int(round(min(width, cx + half))), int(round(min(height, cy + half)))
    return nx1, ny1, nx2, ny2
