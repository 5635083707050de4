"""Model files and cards against hostile input (issue 40): a huge wrong model is refused in little memory,
and every numeric card field is bounded, so a card cannot silently change every answer."""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import pytest
from conftest import assert_one_error, card_of, run_isolated
from nasty_files import flipped, image, model_copy, nested_json

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


# ---------------------------------------------------------------- a model its card cannot vouch for


def test_a_card_hash_in_capitals_is_accepted(tmp_path, tiny_model):
    card = card_of(tiny_model)
    model = model_copy(tiny_model, tmp_path / "m", card={**card, "model_sha256": card["model_sha256"].upper()})
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert proc.returncode == 0, proc.stderr


def test_the_test_models_carry_their_hash(tiny_model, tiny_keras_model):
    for model in (tiny_model, tiny_keras_model):
        assert card_of(model)["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()


@pytest.mark.parametrize("tampered", [True, False], ids=["tampered file", "untouched file"])
def test_a_card_without_model_sha256_does_not_load(tmp_path, tiny_model, tampered):
    card = {k: v for k, v in card_of(tiny_model).items() if k != "model_sha256"}
    data = flipped(tiny_model.read_bytes()) if tampered else None
    model = model_copy(tiny_model, tmp_path / "m", card=card, data=data)
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert_one_error(proc, "m.json: no model_sha256, so m.tflite cannot be checked and is not loaded", code=2)
    assert "re-export" in proc.stderr and "sha256sum m.tflite" in proc.stderr


def test_a_mean_card_over_a_member_without_its_hash_does_not_load(tmp_path, tiny_model):
    member = model_copy(tiny_model, tmp_path / "m", card={**card_of(tiny_model), "model_sha256": None})
    mean = tmp_path / "m" / "mean.json"
    mean.write_text(
        json.dumps(
            {"members": [{"file": member.name, "sha256": ""}], "temperature": 1.0, "labels": ["mask", "no_mask"]}
        )
    )
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", mean)
    assert_one_error(proc, "no model_sha256", code=2)


@pytest.mark.parametrize("where", ["model card", "mean card", "a field of the card"])
def test_a_deeply_nested_model_card_is_one_error(tmp_path, tiny_model, where):
    if where == "a field of the card":
        model = model_copy(
            tiny_model,
            tmp_path / "m",
            raw_card=json.dumps(card_of(tiny_model))[:-1].encode() + b', "x": ' + nested_json().encode() + b"}",
        )
    else:
        model = model_copy(tiny_model, tmp_path / "m", raw_card=nested_json().encode())
        if where == "mean card":
            model = model.with_suffix(".json")
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert_one_error(proc, "model card is not valid JSON (nested too deeply)", code=2)
