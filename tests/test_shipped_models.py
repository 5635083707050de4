"""The models in facemask/models/ are deployable as shipped: they load, match their cards, and stay small."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from facemask.classifier import MODELS_DIR, SHIPPED, MaskClassifier
from facemask.config import ClassifierConfig


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_matches_its_card(name):
    path = MODELS_DIR / SHIPPED[name]
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["weights_init"] == "none" and card["labels"] == ["mask", "no_mask"]
    # Cards from multi-source training list a split per dataset; the older lite card has one split.
    sizes = card["datasets"][0]["split_sizes"] if "datasets" in card else card["split"]["sizes"]
    assert sizes["test"] > 0 and 0.9 < card["test_metrics_tflite"]["accuracy"] <= 1.0
    clf = MaskClassifier(ClassifierConfig(model=name))
    p = clf.predict_crops(np.zeros((3, card["input_size"], card["input_size"], 3), np.uint8))
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()


def test_light_model_is_under_5_mb():
    assert (MODELS_DIR / SHIPPED["lite"]).stat().st_size < 5 * 1024 * 1024
