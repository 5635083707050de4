"""Mask classifier runtime: face crops in, probabilities out.

The model's card (a JSON file beside it) carries its input size, colour order, pixel
scaling, crop margin, labels and threshold, so inference prepares crops exactly as training
did. TFLite models run through LiteRT; a Keras `.keras` file also loads, and is called
directly on the batch rather than through `predict`, which costs ~100 ms per call.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.config import ClassifierConfig
from facemask.crops import CROP_MARGIN, face_crops
from facemask.errors import FacemaskError
from facemask.types import Faces

log = logging.getLogger(__name__)

# Shipped models are package data, so an installed wheel finds them wherever it lives.
MODELS_DIR = Path(str(resources.files("facemask") / "models"))
SHIPPED = {"default": "mask_resnet50.tflite", "lite": "mask_lite.tflite"}


@dataclass(frozen=True)
class ModelCard:
    """What inference must know about a model; written by training, read here."""

    input_size: int
    labels: tuple[str, ...]
    threshold: float
    scale: float = 1.0
    offset: float = 0.0
    color: str = "RGB"
    crop_margin: float = CROP_MARGIN

    @classmethod
    def from_dict(cls, card: dict) -> ModelCard:
        try:
            pre = card.get("preprocessing", {})
            labels = tuple(card["labels"])
            made = cls(
                input_size=int(card["input_size"]),
                labels=labels,
                threshold=float(card.get("threshold", 0.5)),
                scale=float(pre.get("scale", 1.0)),
                offset=float(pre.get("offset", 0.0)),
                color=str(pre.get("color", "RGB")),
                crop_margin=float(pre.get("crop_margin", CROP_MARGIN)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FacemaskError(f"model card is incomplete or malformed ({exc})") from None
        if set(labels) != set(LABELS):
            raise FacemaskError(f"model labels {list(labels)} are not {list(LABELS)}")
        return made


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def resolve_model(name_or_path: str) -> Path:
    """A shipped model's name (`default`, `lite`) or a path to a `.tflite`/`.keras` file."""
    if name_or_path in SHIPPED:
        path = MODELS_DIR / SHIPPED[name_or_path]
    else:
        path = Path(name_or_path)
    if not path.is_file():
        raise FacemaskError(f"{path}: model file not found")
    if path.suffix not in (".tflite", ".keras"):
        raise FacemaskError(f"{path}: unsupported model format (expected .tflite or .keras)")
    return path


def load_card(model_path: Path) -> ModelCard:
    path = card_path(model_path)
    if not path.is_file():
        raise FacemaskError(f"{path}: model card missing (every model needs its metadata JSON beside it)")
    try:
        return ModelCard.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise FacemaskError(f"{path}: model card is not valid JSON ({exc.msg})") from None


class _LiteRTRunner:
    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interp = Interpreter(model_path=str(path), num_threads=threads)
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise FacemaskError(f"{path}: not a valid TFLite model ({str(exc).splitlines()[0]})") from None
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]
        self.batch = 0
        self.input_hw = tuple(int(v) for v in self.inp["shape_signature"][1:3])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.batch != len(x):
            self.interp.resize_tensor_input(self.inp["index"], list(x.shape))
            self.interp.allocate_tensors()
            self.inp = self.interp.get_input_details()[0]
            self.out = self.interp.get_output_details()[0]
            self.batch = len(x)
        scale, zero = self.inp["quantization"]
        if self.inp["dtype"] != np.float32:
            x = np.clip(np.round(x / scale + zero), *_limits(self.inp["dtype"])).astype(self.inp["dtype"])
        self.interp.set_tensor(self.inp["index"], x)
        self.interp.invoke()
        y = self.interp.get_tensor(self.out["index"])
        scale, zero = self.out["quantization"]
        if self.out["dtype"] != np.float32:
            y = (y.astype(np.float32) - zero) * scale
        return y


def _limits(dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return info.min, info.max


class _KerasRunner:
    def __init__(self, path: Path) -> None:
        import keras

        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as exc:  # keras raises many types for a bad file
            raise FacemaskError(f"{path}: cannot load Keras model ({str(exc).splitlines()[0]})") from None
        self.input_hw = tuple(self.model.input_shape[1:3])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(x, training=False))


class MaskClassifier:
    """`classify(image, faces) -> Faces` with `mask_prob` and `label` filled, one batch a frame."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.path = resolve_model(self.config.model)
        self.card = load_card(self.path)
        if self.path.suffix == ".tflite":
            self.run = _LiteRTRunner(self.path, self.config.threads)
        else:
            self.run = _KerasRunner(self.path)
        self.threshold = self.config.threshold if self.config.threshold is not None else self.card.threshold
        self._mask_col = self.card.labels.index("mask")
        self._check_output()

    def _check_output(self) -> None:
        size = self.card.input_size
        if self.run.input_hw != (size, size):
            raise FacemaskError(f"{self.path}: model input {self.run.input_hw} does not match its card's input_size {size}")
        probe = self.run(np.zeros((1, self.card.input_size, self.card.input_size, 3), np.float32))
        if probe.shape != (1, len(self.card.labels)):
            raise FacemaskError(
                f"{self.path}: model output shape {probe.shape} does not match its {len(self.card.labels)} labels"
            )

    def predict_crops(self, crops_rgb: np.ndarray) -> np.ndarray:
        """P(mask) for a batch of uint8 RGB crops already at the model's input size."""
        if len(crops_rgb) == 0:
            return np.zeros(0, np.float32)
        x = crops_rgb.astype(np.float32)
        if self.card.color == "BGR":
            x = x[..., ::-1]
        x = x * self.card.scale + self.card.offset
        return self.run(np.ascontiguousarray(x))[:, self._mask_col].astype(np.float32)

    def classify(self, image_bgr: np.ndarray, faces: Faces) -> Faces:
        crops = face_crops(image_bgr, faces.xyxy, self.card.input_size, self.card.crop_margin)
        mask_prob = self.predict_crops(crops)
        labels = self.labels_for(mask_prob)
        return faces.with_(mask_prob=mask_prob, label=labels, raw_mask_prob=mask_prob, raw_label=labels.copy())

    def labels_for(self, mask_prob: np.ndarray) -> np.ndarray:
        """`no_mask` when P(no_mask) reaches the threshold, else `mask`."""
        return np.where(1.0 - mask_prob >= self.threshold, "no_mask", "mask").astype(object)
