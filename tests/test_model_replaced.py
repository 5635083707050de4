"""A model file replaced while a run goes on (issue 31): the loaded model keeps answering as it did, and a
later load takes the new file only when its card vouches for it (same bytes as the card's model_sha256)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

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
