"""Model files and cards against hostile input (issue 40): a huge wrong model is refused in little memory,
and every numeric card field is bounded, so a card cannot silently change every answer."""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import pytest

from facemask.classification.card import MODELS_DIR, card_problems, read_verified_model
from facemask.core.errors import FacemaskError

GOOD = {"input_size": 112, "labels": ["mask", "no_mask"], "threshold": 0.5}


@pytest.mark.parametrize(
    ("key", "value"),
    [("scale", 1e308), ("scale", 0), ("scale", -1.0), ("offset", 1e308), ("offset", -1e6), ("crop_margin", 3)],
)
def test_preprocessing_numbers_out_of_range_are_refused(key, value):
    problems = card_problems({**GOOD, "preprocessing": {key: value}})
    assert any(p.startswith(f"preprocessing.{key} must be a finite number in [") for p in problems), problems


@pytest.mark.parametrize("values", [{"scale": 1 / 255, "offset": 0}, {"scale": 1 / 127.5, "offset": -1.0}])
def test_usual_preprocessing_and_every_shipped_card_pass(values):
    assert card_problems({**GOOD, "preprocessing": values}) == []
    for card in MODELS_DIR.glob("mask_*.json"):
        document = json.loads(card.read_text())
        if "input_size" in document:  # a model's card (the mean card is checked by load_mean_card)
            assert card_problems(document) == [], card.name


def test_a_huge_wrong_model_is_refused_without_reading_it_into_memory(tmp_path):
    model = tmp_path / "m.tflite"
    with open(model, "wb") as fh:  # 256 MB, sparse: cheap to make, costly to hold
        fh.truncate(256 * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(FacemaskError, match="SHA-256 does not match"):
            read_verified_model(model, "0" * 64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MB held to check the hash"


def test_a_matching_model_returns_its_bytes(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model bytes" * 1000)
    assert read_verified_model(model, hashlib.sha256(model.read_bytes()).hexdigest()) == model.read_bytes()
