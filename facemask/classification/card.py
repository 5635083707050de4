"""Model cards: the JSON beside each model, and the mean cards that average several models.

A model's card carries its input size, colour order, pixel scaling, crop margin, labels,
threshold and the SHA-256 of the model file; every field is checked before inference trusts it.
A mean card (a `.json` naming member models beside it) lists each member's file and SHA-256 and
the temperature fitted on the validation splits. Shipped models (see shipped.SHIPPED) are
package data under MODELS_DIR.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from facemask import LABELS, NOT_FACE
from facemask.classification.crops import CROP_MARGIN
from facemask.classification.shipped import SHIPPED, shipped_names
from facemask.core.errors import FacemaskError
from facemask.core.extras import require_tensorflow
from facemask.core.hashing import file_digest
from facemask.core.labels import decision_problem, labels_problem
from facemask.io.imageio import check_regular, read_bounded

# Shipped models are package data, so an installed wheel finds them wherever it lives.
MODELS_DIR = Path(str(resources.files("facemask") / "models"))
MAX_CARD_BYTES = 2**20
MAX_MODEL_BYTES = 2**31  # a TFLite flatbuffer's own limit; loaded whole, so the bytes checked are the bytes run
MAX_MEMBERS = 8
# Pixels are 0-255: a scale or offset past these bounds (1e308) would silently change every answer.
PREPROCESSING_RANGES = {"scale": (1e-4, 1e3), "offset": (-1e3, 1e3), "crop_margin": (0.0, 2.0)}


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
    decision: str = "threshold"  # two classes: cut at `threshold`; more: `argmax` over the face classes
    not_face_threshold: float | None = None  # P(not_face) at which a face is dropped (None: none is)

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
            decision=str(card.get("decision") or "threshold"),
            not_face_threshold=float(card["not_face_threshold"]) if "not_face_threshold" in card else None,
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
    problems += _labels_problems(card)
    if (problem := _threshold_problem(card.get("threshold", 0.5))) is not None:
        problems.append(problem)
    pre = card.get("preprocessing", {})
    if not isinstance(pre, dict):
        problems.append(f"preprocessing must be a JSON object, got {pre!r}")
        pre = {}
    for key, (low, high) in PREPROCESSING_RANGES.items():
        if key in pre and not (_is_number(pre[key]) and low <= pre[key] <= high):
            problems.append(f"preprocessing.{key} must be a finite number in [{low:g}, {high:g}], got {pre[key]!r}")
    if pre.get("color", "RGB") not in ("RGB", "BGR"):
        problems.append(f"preprocessing.color must be RGB or BGR, got {pre.get('color')!r}")
    digest = card.get("model_sha256")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-fA-F]{64}", digest)):
        problems.append(f"model_sha256 must be 64 hex digits, got {digest!r}")
    return problems


def _labels_problems(card: dict) -> list[str]:
    """The labels, how they are decided, and the cut on `not_face` (only a card with that output may carry one)."""
    labels = card.get("labels")
    if (problem := labels_problem(labels)) is not None:
        return [problem]
    problems = [p for p in [decision_problem(labels, card.get("decision"))] if p is not None]
    if "not_face_threshold" in card:
        cut = card["not_face_threshold"]
        if NOT_FACE not in labels:
            problems.append(f"not_face_threshold needs a {NOT_FACE!r} label, got labels {labels!r}")
        elif not (_is_number(cut) and 0.0 < cut < 1.0):
            problems.append(f"not_face_threshold must be a number in (0, 1), got {cut!r}")
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
    if path.suffix == ".keras":
        require_tensorflow("a .keras model")
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
    if card.get("labels") != list(LABELS):  # a mean averages P(mask) logits: two classes only
        got = card.get("labels")
        problems.append(f"labels must be {list(LABELS)} in that order (a mean is two-class), got {got!r}")
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


def read_verified_model(model_path: Path, expected: str | None) -> bytes:
    """The model's bytes, read once, which must hash to its card's `model_sha256`: a flipped byte would run,
    and answer wrong. The caller loads these very bytes, never the path again: a file swapped in between
    the check and the load would otherwise run unchecked.

    A card without the hash cannot vouch for the file beside it (replaced, tampered with), so that
    model is not loaded either: `facemask export` writes the hash, or it can be added by hand.
    """
    if expected is None:
        raise FacemaskError(
            f"{card_path(model_path)}: no model_sha256, so {model_path.name} cannot be checked and is not loaded; "
            f"re-export the model (facemask export) or add its SHA-256 (sha256sum {model_path.name}) "
            'to the card as "model_sha256"'
        )
    mismatch = FacemaskError(
        f"{model_path}: SHA-256 does not match its card's model_sha256 (file corrupt or replaced, "
        "or the card belongs to another model)"
    )
    check_regular(model_path, MAX_MODEL_BYTES, "a model file")
    if file_digest(model_path) != expected:  # in chunks: a wrong file of gigabytes is refused in little memory
        raise mismatch
    data = read_bounded(model_path, MAX_MODEL_BYTES, "a model file")
    if hashlib.sha256(data).hexdigest() != expected:  # the bytes loaded, checked again: a swap in between fails
        raise mismatch
    return data
