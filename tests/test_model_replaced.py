"""A model file replaced while a run goes on (issue 31): the loaded model keeps answering as it did, and a
later load takes the new file only when its card vouches for it (same bytes as the card's model_sha256)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import card_of

from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _crops() -> np.ndarray:
    return np.stack([np.full((32, 32, 3), v, np.uint8) for v in (20, 120, 230)])


@pytest.fixture
def model(tmp_path, tiny_model) -> Path:
    dest = tmp_path / "m.tflite"
    shutil.copy(tiny_model, dest)
    shutil.copy(tiny_model.with_suffix(".json"), dest.with_suffix(".json"))
    return dest


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_loaded_model_keeps_working_when_its_file_is_replaced(model, tmp_path, how):
    classifier = MaskClassifier(ClassifierConfig(model=str(model)))
    before = classifier.predict_crops(_crops())
    junk = b"\x00not a model\x00" * 1000
    if how == "in place":  # truncated and rewritten: the same inode a memory map would see
        model.write_bytes(junk)
    else:
        (tmp_path / "new.tflite").write_bytes(junk)
        (tmp_path / "new.tflite").replace(model)
    np.testing.assert_array_equal(classifier.predict_crops(_crops()), before)
    with pytest.raises(FacemaskError, match="SHA-256 does not match"):  # a later run: refused, not loaded
        MaskClassifier(ClassifierConfig(model=str(model)))


def test_a_later_run_takes_the_new_model_when_its_card_matches(model, tiny_keras_model, tmp_path):
    """The new file with its own card (the Keras twin of the same model): loaded, as the card vouches for it."""
    old = MaskClassifier(ClassifierConfig(model=str(model))).predict_crops(_crops())
    new = tmp_path / "m.keras"
    shutil.copy(tiny_keras_model, new)
    card = json.loads(tiny_keras_model.with_suffix(".json").read_text())
    assert card["model_sha256"] == hashlib.sha256(new.read_bytes()).hexdigest()
    new.with_suffix(".json").write_text(json.dumps(card))
    np.testing.assert_allclose(MaskClassifier(ClassifierConfig(model=str(new))).predict_crops(_crops()), old, atol=0.02)
    card["model_sha256"] = "0" * 64  # a card that does not vouch for these bytes
    new.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(FacemaskError, match="SHA-256 does not match"):
        MaskClassifier(ClassifierConfig(model=str(new)))


class _SwapOnceHashed:
    """card.py's `hashlib`, whose digests swap the model file for `replacement` the moment the hash is taken:
    a file replaced between the SHA-256 check and the load, which would then run unchecked if the load read
    the path again."""

    def __init__(self, model: Path, replacement: bytes) -> None:
        self.model, self.replacement, self.swaps = model, replacement, 0

    def sha256(self, *data: bytes) -> _SwapOnceHashed:
        self.inner = hashlib.sha256(*data)
        return self

    def update(self, block: bytes) -> None:
        self.inner.update(block)

    def hexdigest(self) -> str:
        digest = self.inner.hexdigest()
        swapped = self.model.with_name("swapped.part")
        swapped.write_bytes(self.replacement)
        swapped.replace(self.model)  # renamed over, as an attacker (or a careless deploy) would
        self.swaps += 1
        return digest


def _shipped_copy(folder: Path, name: str) -> Path:
    """A shipped model and its card, copied into `folder` as m.tflite / m.json."""
    from facemask.classification.card import MODELS_DIR

    folder.mkdir()
    shutil.copy(MODELS_DIR / f"{name}.tflite", folder / "m.tflite")
    shutil.copy(MODELS_DIR / f"{name}.json", folder / "m.json")
    return folder / "m.tflite"


def test_the_model_run_is_the_very_bytes_its_hash_was_checked_on(tmp_path, monkeypatch):
    """Two shipped 112 px models that answer differently: `mask_lite` checked, then `mask_lite112` swapped in
    before the load. The classifier must answer as `mask_lite` (its bytes were read once, hashed and loaded)."""
    from facemask.classification import card as card_module

    crops = np.random.default_rng(3).integers(0, 256, (6, 112, 112, 3), np.uint8)
    checked = _shipped_copy(tmp_path / "a", "mask_lite")
    other = (card_module.MODELS_DIR / "mask_lite112.tflite").read_bytes()
    expected = MaskClassifier(ClassifierConfig(model=str(checked))).predict_crops(crops)
    impostor = _shipped_copy(tmp_path / "b", "mask_lite112")  # what the swapped bytes answer, under the same card
    impostor.with_suffix(".json").write_text(
        json.dumps(card_of(checked) | {"model_sha256": card_of(impostor)["model_sha256"]})
    )
    assert not np.allclose(MaskClassifier(ClassifierConfig(model=str(impostor))).predict_crops(crops), expected)

    hook = _SwapOnceHashed(checked, other)
    monkeypatch.setattr(card_module, "hashlib", hook)
    loaded = MaskClassifier(ClassifierConfig(model=str(checked)))
    assert hook.swaps == 1 and checked.read_bytes() == other  # the file on disk is now the other model
    np.testing.assert_array_equal(loaded.predict_crops(crops), expected)


def test_a_keras_model_runs_the_bytes_checked_too(tiny_keras_model, tmp_path, monkeypatch):
    """The same for `.keras`, which Keras loads only by path: junk swapped in after the check does not reach it."""
    from facemask.classification import card as card_module

    model = tmp_path / "m.keras"
    shutil.copy(tiny_keras_model, model)
    shutil.copy(tiny_keras_model.with_suffix(".json"), model.with_suffix(".json"))
    expected = MaskClassifier(ClassifierConfig(model=str(model))).predict_crops(_crops())
    hook = _SwapOnceHashed(model, b"PK\x03\x04 not a model" * 100)
    monkeypatch.setattr(card_module, "hashlib", hook)
    loaded = MaskClassifier(ClassifierConfig(model=str(model)))
    assert hook.swaps == 1
    np.testing.assert_array_equal(loaded.predict_crops(_crops()), expected)
