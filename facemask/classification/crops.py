"""Face crops as the classifier sees them. Training and inference both call `face_crops`."""

from __future__ import annotations

import cv2
import numpy as np

from facemask.core.boxes import expand_square

CROP_MARGIN = 0.15


def resize_rgb(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size and convert BGR to RGB, as uint8."""
    interp = cv2.INTER_AREA if min(image_bgr.shape[:2]) > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(image_bgr, (size, size), interpolation=interp), cv2.COLOR_BGR2RGB)


def face_crops(image_bgr: np.ndarray, xyxy: np.ndarray, size: int, margin: float = CROP_MARGIN) -> np.ndarray:
    """Square crops around each box, resized: uint8 RGB array of shape (N, size, size, 3)."""
    h, w = image_bgr.shape[:2]
    out = np.empty((len(xyxy), size, size, 3), np.uint8)
    for i, box in enumerate(xyxy):
        x1, y1, x2, y2 = expand_square(box, margin, w, h)
        crop = image_bgr[y1:y2, x1:x2]
        if crop.size == 0:
            crop = image_bgr
        out[i] = resize_rgb(crop, size)
    return out


def training_crop(
    image_bgr: np.ndarray, xyxy: np.ndarray, size: int, margin: float = CROP_MARGIN
) -> tuple[np.ndarray, bool]:
    """The crop inference would give: the largest face, or the whole image when none is found."""
    if len(xyxy) == 0:
        return resize_rgb(image_bgr, size), False
    areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    return face_crops(image_bgr, xyxy[[int(np.argmax(areas))]], size, margin)[0], True
