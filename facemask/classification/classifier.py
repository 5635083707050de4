"""Mask classifier runtime: face crops in, probabilities out.

The model's card (a JSON file beside it) carries its input size, colour order, pixel
scaling, crop margin, labels and threshold, so inference prepares crops exactly as training
did. TFLite models run through LiteRT; a Keras `.keras` file also loads, and is called
directly on the batch rather than through `predict`, which costs ~100 ms per call.

A mean card (a `.json` naming member models beside it) averages several models: each cuts its
own crops, its P(mask) is centred on its own card's cut, and the mean of their logits is divided
by a temperature fitted on the validation splits. The shipped `default` is such a card over
`resnet50`, `lite` and `lite128`; docs/models.md has how it compares with each of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from facemask.classification.crops import CROP_MARGIN, face_crops
from facemask.classification.shipped import SHIPPED, shipped_names
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.labels import labels_at, labels_problem
from facemask.core.types import Faces
from facemask.io.imageio import read_bounded

log = logging.getLogger(__name__)

# Shipped models are package data, so an installed wheel finds them wherever it lives.
MODELS_DIR = Path(str(resources.files("facemask") / "models"))
MAX_CARD_BYTES = 2**20
MAX_MEMBERS = 8


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
    sha256: str | None = None  # of the model file; None: the card cannot vouch for it, so it is not loaded

    @classmethod
    def from_dict(cls, card: dict) -> ModelCard:
        """A card checked field by field; every problem found is named, in one line."""
        problems = card_problems(card)
        if problems:
            raise FacemaskError("model card: " + "; ".join(problems))
        pre = card.get("preprocessing", {})
        return cls(
            input_size=int(card["input_size"]),
            labels=tuple(card["labels"]),
            threshold=float(card.get("threshold", 0.5)),
            scale=float(pre.get("scale", 1.0)),
            offset=float(pre.get("offset", 0.0)),
            color=str(pre.get("color", "RGB")),
            crop_margin=float(pre.get("crop_margin", CROP_MARGIN)),
            sha256=str(card["model_sha256"]).lower() if card.get("model_sha256") is not None else None,
        )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def card_problems(card) -> list[str]:
    """What is wrong with a card's fields, in words; empty when inference can trust it.

    NaN compares false with everything, so a NaN threshold would label every face `mask`;
    swapped labels would swap every answer. Both are refused, not guessed around.
    """
    if not isinstance(card, dict):
        return [f"must be a JSON object, got {type(card).__name__}"]
    problems = []
    size = card.get("input_size")
    if not (isinstance(size, int) and not isinstance(size, bool) and 8 <= size <= 4096):
        problems.append(
            f"input_size must be a whole number of pixels (8 to 4096), got {size!r}"
            if "input_size" in card
            else "input_size is missing (malformed card)"
        )
    if (problem := labels_problem(card.get("labels"))) is not None:
        problems.append(problem)
    if (problem := _threshold_problem(card.get("threshold", 0.5))) is not None:
        problems.append(problem)
    pre = card.get("preprocessing", {})
    if not isinstance(pre, dict):
        problems.append(f"preprocessing must be a JSON object, got {pre!r}")
        pre = {}
    for key in ("scale", "offset", "crop_margin"):
        if key in pre and not _is_number(pre[key]):
            problems.append(f"preprocessing.{key} must be a finite number, got {pre[key]!r}")
    if "crop_margin" in pre and _is_number(pre["crop_margin"]) and not 0.0 <= pre["crop_margin"] <= 2.0:
        problems.append(f"preprocessing.crop_margin must be in [0, 2], got {pre['crop_margin']!r}")
    if pre.get("color", "RGB") not in ("RGB", "BGR"):
        problems.append(f"preprocessing.color must be RGB or BGR, got {pre.get('color')!r}")
    digest = card.get("model_sha256")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
        problems.append(f"model_sha256 must be 64 hex digits, got {digest!r}")
    return problems


def _threshold_problem(threshold) -> str | None:
    """A card's cut must be a finite number in [0, 1] (NaN would label every face `mask`)."""
    if _is_number(threshold) and 0.0 <= threshold <= 1.0:
        return None
    return f"threshold must be a finite number in [0, 1], got {threshold!r}"


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def resolve_model(name_or_path: str) -> Path:
    """A shipped name (see SHIPPED) or a path: a `.tflite`/`.keras` model, or a mean card `.json`."""
    path = MODELS_DIR / SHIPPED[name_or_path][0] if name_or_path in SHIPPED else Path(name_or_path)
    if not path.is_file():
        raise FacemaskError(
            f"{path}: model file not found; --model takes a shipped name ({shipped_names()}) "
            "or the path of a .tflite/.keras model or mean card .json"
        )
    if path.suffix not in (".tflite", ".keras", ".json"):
        raise FacemaskError(f"{path}: unsupported model format (expected .tflite, .keras or a mean card .json)")
    return path


@dataclass(frozen=True)
class MeanCard:
    """Several models averaged: their files (beside the card), each one's SHA-256, and the fitted temperature."""

    members: tuple[Path, ...]
    sha256: tuple[str, ...]
    temperature: float
    threshold: float = 0.5


def load_mean_card(path: Path) -> MeanCard:
    """A mean card checked field by field; its members are the exact files its temperature was fitted on."""
    card = read_card(path)
    members = card.get("members") if isinstance(card, dict) else None
    if members is None and isinstance(card, dict) and "input_size" in card:
        raise FacemaskError(f"{path}: this is a model's card, not a mean card; give the model file beside it")
    if not (isinstance(members, list) and members and all(isinstance(m, dict) for m in members)):
        raise FacemaskError(f"{path}: mean card needs members: a list of {{file, sha256}}")
    if len(members) > MAX_MEMBERS:  # each member is a loaded model: a long list is a memory bomb
        raise FacemaskError(f"{path}: mean card has {len(members)} members; at most {MAX_MEMBERS}")
    problems = []
    if (problem := labels_problem(card.get("labels"))) is not None:
        problems.append(problem)
    temperature, threshold = card.get("temperature"), card.get("threshold", 0.5)
    if not (_is_number(temperature) and 0.05 <= temperature <= 20):
        problems.append(f"temperature must be a number in [0.05, 20], got {temperature!r}")
    if (problem := _threshold_problem(threshold)) is not None:
        problems.append(problem)
    files = [m.get("file") for m in members]
    if not all(isinstance(f, str) and Path(f).name == f and Path(f).suffix in (".tflite", ".keras") for f in files):
        problems.append(f"members must be .tflite/.keras file names in the card's folder, got {files!r}")
    if problems:
        raise FacemaskError(f"{path}: mean card: " + "; ".join(problems))
    return MeanCard(
        members=tuple(resolve_model(str(path.parent / f)) for f in files),
        sha256=tuple(str(m.get("sha256", "")).lower() for m in members),
        temperature=float(temperature),
        threshold=float(threshold),
    )


def own_threshold(name_or_path: str) -> float:
    """The cut a model is labelled at unless told otherwise: its card's (a mean card's is 0.5)."""
    path = resolve_model(name_or_path)
    return load_mean_card(path).threshold if path.suffix == ".json" else load_card(path).threshold


def read_card(model_path: Path) -> dict:
    """The card JSON beside a model, parsed; any problem reading it is one FacemaskError line."""
    path = card_path(model_path)
    if not path.is_file():
        raise FacemaskError(f"{path}: model card missing (every model needs its metadata JSON beside it)")
    data = read_bounded(path, MAX_CARD_BYTES, "a model card")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise FacemaskError(f"{path}: model card is not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise FacemaskError(f"{path}: model card is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise FacemaskError(f"{path}: model card is not valid JSON (nested too deeply)") from None


def load_card(model_path: Path) -> ModelCard:
    try:
        return ModelCard.from_dict(read_card(model_path))
    except FacemaskError as exc:
        message = str(exc)
        if message.startswith("model card:"):
            raise FacemaskError(f"{card_path(model_path)}: {message}") from None
        raise


def verify_model_file(model_path: Path, expected: str | None) -> None:
    """The model's bytes must hash to its card's `model_sha256`: a flipped byte would run, and answer wrong.

    A card without the hash cannot vouch for the file beside it (replaced, tampered with), so that
    model is not loaded either: `facemask export` writes the hash, or it can be added by hand.
    """
    if expected is None:
        raise FacemaskError(
            f"{card_path(model_path)}: no model_sha256, so {model_path.name} cannot be checked and is not loaded; "
            f"re-export the model (facemask export) or add its SHA-256 (sha256sum {model_path.name}) "
            'to the card as "model_sha256"'
        )
    digest = hashlib.sha256()
    try:
        with open(model_path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise FacemaskError(f"{model_path}: cannot read model ({exc.strerror})") from None
    if digest.hexdigest() != expected:
        raise FacemaskError(
            f"{model_path}: SHA-256 does not match its card's model_sha256 (file corrupt or replaced, "
            "or the card belongs to another model)"
        )


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


class CardModel:
    """One model file and its card: uint8 RGB crops at its input size in, raw P(mask) out."""

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        self.card = load_card(path)
        verify_model_file(path, self.card.sha256)
        self.run = _LiteRTRunner(path, threads) if path.suffix == ".tflite" else _KerasRunner(path)
        self._mask_col = self.card.labels.index("mask")
        self._check_output()

    def _check_output(self) -> None:
        size = self.card.input_size
        if self.run.input_hw != (size, size):
            raise FacemaskError(
                f"{self.path}: model input {self.run.input_hw} does not match its card's input_size {size}"
            )
        probe = self.run(np.zeros((1, size, size, 3), np.float32))
        if probe.shape != (1, len(self.card.labels)):
            raise FacemaskError(
                f"{self.path}: model output shape {probe.shape} does not match its {len(self.card.labels)} labels"
            )

    def crops(self, image_bgr: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
        return face_crops(image_bgr, xyxy, self.card.input_size, self.card.crop_margin)

    def predict_crops(self, crops_rgb: np.ndarray) -> np.ndarray:
        """P(mask) for a batch of uint8 RGB crops already at the model's input size."""
        if len(crops_rgb) == 0:
            return np.zeros(0, np.float32)
        x = crops_rgb.astype(np.float32)
        if self.card.color == "BGR":
            x = x[..., ::-1]
        x = x * self.card.scale + self.card.offset
        return self.run(np.ascontiguousarray(x))[:, self._mask_col].astype(np.float32)


class MaskClassifier:
    """`classify(image, faces) -> Faces` with `mask_prob` and `label` filled, one batch per model a frame."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        path = resolve_model(self.config.model)
        mean = load_mean_card(path) if path.suffix == ".json" else None
        self.models = tuple(CardModel(p, self.config.threads) for p in (mean.members if mean else [path]))
        if mean:
            for model, digest in zip(self.models, mean.sha256):
                if (model.card.sha256 or "") != digest:  # the card's digest was just checked against the file
                    raise FacemaskError(
                        f"{path}: {model.path.name} is not the model this mean was fitted on (SHA-256 differs); "
                        "refit it with tools/fit_mean.py"
                    )
        self.temperature = mean.temperature if mean else 1.0
        self.name = path.name
        own = mean.threshold if mean else self.models[0].card.threshold
        self.threshold = self.config.threshold if self.config.threshold is not None else own

    @property
    def card(self) -> ModelCard:
        """The card of a single model; a mean of models has one per member (`models`)."""
        if len(self.models) != 1:
            raise FacemaskError(f"{self.name}: a mean of {len(self.models)} models has no single card")
        return self.models[0].card

    def predict_crops(self, *crops_rgb: np.ndarray) -> np.ndarray:
        """P(mask) the cut applies to, from one crop batch per model (each at that model's input size).

        One model: its own P(mask). Several: each one's P(mask) centred on its own cut (0.5, 0.41...)
        so they vote on one scale, then the mean of their logits over the fitted temperature.
        """
        if len(crops_rgb) != len(self.models):
            raise ValueError(f"{len(crops_rgb)} crop batches for {len(self.models)} models")
        raw = [m.predict_crops(c) for m, c in zip(self.models, crops_rgb)]
        if len(raw) == 1:
            return raw[0]
        logits = [centred_logit(p, m.card.threshold) for m, p in zip(self.models, raw)]
        return _sigmoid(np.mean(logits, axis=0) / self.temperature)

    def classify(self, image_bgr: np.ndarray, faces: Faces) -> Faces:
        """Labels at the threshold; `mask_prob` re-centred on it, so the shown label is always the likelier."""
        raw = self.predict_crops(*(m.crops(image_bgr, faces.xyxy) for m in self.models))
        labels = self.labels_for(raw)
        mask_prob = centre_on_threshold(raw, self.threshold)
        return faces.with_(mask_prob=mask_prob, label=labels, raw_mask_prob=mask_prob, raw_label=labels.copy())

    def labels_for(self, mask_prob: np.ndarray) -> np.ndarray:
        """`no_mask` when P(no_mask) reaches the threshold, else `mask`."""
        return labels_at(mask_prob, self.threshold)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def centred_logit(mask_prob: np.ndarray, threshold: float) -> np.ndarray:
    """logit(P(mask)) + logit(threshold): the logit of `centre_on_threshold`, the scale a mean votes on."""
    return _logit(mask_prob) + _logit(threshold)


def centre_on_threshold(mask_prob: np.ndarray, threshold: float) -> np.ndarray:
    """P(mask) with the decision cut moved to 0.5: logit(P'(no_mask)) = logit(P(no_mask)) - logit(threshold).

    A cut below 0.5 (say 0.39, picked on the validation split) is a prior shift toward `no_mask`;
    applying the same shift to the probability makes it the one the label was decided on, so a face
    labelled `no_mask` never reads "No Mask 41%". The ordering of faces is unchanged, and a 0.5
    cut leaves the probabilities as they are.
    """
    return _sigmoid(centred_logit(mask_prob, threshold))  # logit(P'(mask)) = -logit(P'(no_mask))
