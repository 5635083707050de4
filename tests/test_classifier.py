from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import card_of

from facemask import FACE_LABELS
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces


@pytest.fixture(params=["tflite", "keras"])
def classifier(request, tiny_model, tiny_keras_model) -> MaskClassifier:
    path = tiny_model if request.param == "tflite" else tiny_keras_model
    return MaskClassifier(ClassifierConfig(model=str(path)))


def test_bright_faces_read_mask_dark_read_no_mask_in_one_batch(classifier):
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 100:] = 250
    faces = Faces(xyxy=[[120, 20, 180, 80], [20, 20, 80, 80]], score=[0.9, 0.8])
    out = classifier.classify(image, faces)
    assert list(out.label) == ["mask", "no_mask"]
    assert out.mask_prob[0] > 0.9 and out.mask_prob[1] < 0.1
    assert list(out.raw_label) == ["mask", "no_mask"]
    assert len(faces.label) == 2 and faces.label[0] == ""  # input untouched


def test_no_faces_gives_empty_probabilities(classifier):
    assert classifier.predict_crops(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0,)


def test_threshold_override_changes_decision(tiny_model):
    grey = np.full((1, 32, 32, 3), 128, np.uint8)  # P(mask) ~ 0.5 +- small
    p = MaskClassifier(ClassifierConfig(model=str(tiny_model))).predict_crops(grey)[0]
    strict = MaskClassifier(ClassifierConfig(model=str(tiny_model), threshold=0.01))
    lenient = MaskClassifier(ClassifierConfig(model=str(tiny_model), threshold=0.99))
    assert strict.labels_for(np.array([p]))[0] == "no_mask"
    assert lenient.labels_for(np.array([p]))[0] == "mask"


def test_missing_model_file(tmp_path):
    with pytest.raises(FacemaskError, match="model file not found"):
        MaskClassifier(ClassifierConfig(model=str(tmp_path / "nope.tflite")))


def test_model_without_card(tiny_model, tmp_path):
    lonely = tmp_path / "m.tflite"
    lonely.write_bytes(tiny_model.read_bytes())
    with pytest.raises(FacemaskError, match="model card missing"):
        MaskClassifier(ClassifierConfig(model=str(lonely)))


def test_corrupt_model(tiny_model, tmp_path):
    bad = tmp_path / "m.tflite"
    bad.write_bytes(b"garbage" * 100)
    bad.with_suffix(".json").write_text(tiny_model.with_suffix(".json").read_text())
    with pytest.raises(FacemaskError, match="SHA-256 does not match"):
        MaskClassifier(ClassifierConfig(model=str(bad)))
    card = json.loads(bad.with_suffix(".json").read_text())
    del card["model_sha256"]  # without a hash to check, the file is not loaded at all
    bad.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(FacemaskError, match="no model_sha256, so m.tflite cannot be checked"):
        MaskClassifier(ClassifierConfig(model=str(bad)))


def test_one_flipped_byte_is_refused(tiny_model, tmp_path):
    model = _copy_with_card(tiny_model, tmp_path)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(FacemaskError, match="SHA-256 does not match its card"):
        MaskClassifier(ClassifierConfig(model=str(model)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2]", "must be a JSON object, got list"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"null", "must be a JSON object, got NoneType"),
        (b"[" * 100000, "not valid JSON"),
    ],
)
def test_card_that_is_not_an_object(tiny_model, tmp_path, content, message):
    model = _copy_with_card(tiny_model, tmp_path)
    model.with_suffix(".json").write_bytes(content)
    with pytest.raises(FacemaskError, match=message):
        MaskClassifier(ClassifierConfig(model=str(model)))


def _copy_with_card(tiny_model, tmp_path, **changes):
    """The tiny model beside a card with some fields changed."""
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_model.read_bytes())
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps({**card, **changes}))
    return model


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"labels": ["cat", "dog"]}, "labels"),
        ({"input_size": 64}, "does not match its card's input_size"),
        ({"input_size": "big"}, "input_size must be a whole number"),
        ({"input_size": True}, "input_size must be a whole number"),
        ({"labels": ["no_mask", "mask"]}, r"labels must be \['mask', 'no_mask'\] or .* in that order"),
        ({"labels": ["mask", "no_mask", "incorrect_mask"]}, 'needs "decision": "argmax", got None'),
        ({"decision": "argmax"}, "a two-class card decides at its threshold .*got 'argmax'"),
        ({"not_face_threshold": 0.5}, "not_face_threshold needs a 'not_face' label"),
        (
            {"labels": [*FACE_LABELS, "not_face"], "decision": "argmax", "not_face_threshold": 1},
            r"not_face_threshold must be a number in \(0, 1\)",
        ),
        ({"labels": ["mask", "no_mask", "incorrect_mask"], "decision": "argmax"}, "does not match its 3 labels"),
        ({"threshold": float("nan")}, "threshold must be a finite number"),
        ({"threshold": 1.5}, "threshold must be a finite number"),
        ({"threshold": "0.5"}, "threshold must be a finite number"),
        ({"preprocessing": None}, "preprocessing must be a JSON object"),
        ({"preprocessing": {"color": "HSV"}}, "color must be RGB or BGR"),
        ({"preprocessing": {"scale": float("inf")}}, "preprocessing.scale must be a finite number"),
        ({"model_sha256": "abc"}, "model_sha256 must be 64 hex digits"),
        ({"model_sha256": "0" * 64}, "SHA-256 does not match"),
        ({"threshold": float("nan"), "labels": ["no_mask", "mask"]}, "labels must be .*; threshold must be"),
    ],
)
def test_incompatible_card(tiny_model, tmp_path, changes, message):
    with pytest.raises(FacemaskError, match=message):
        MaskClassifier(ClassifierConfig(model=str(_copy_with_card(tiny_model, tmp_path, **changes))))


def test_card_that_is_not_json(tiny_model, tmp_path):
    model = _copy_with_card(tiny_model, tmp_path)
    model.with_suffix(".json").write_text("{not json")
    with pytest.raises(FacemaskError, match="not valid JSON"):
        MaskClassifier(ClassifierConfig(model=str(model)))


def _mean_card(tiny_model, tiny_keras_model, folder, temperature=1.0, **changes):
    """The tiny TFLite model and a second copy cut at 0.3, with a mean card over both, all in one folder."""
    a = _copy_with_card(tiny_model, folder)
    b = folder / "b.keras"
    b.write_bytes(tiny_keras_model.read_bytes())
    card_b = json.loads(tiny_keras_model.with_suffix(".json").read_text())
    b.with_suffix(".json").write_text(json.dumps({**card_b, "threshold": 0.3}))
    members = [{"file": m.name, "sha256": card_of(m)["model_sha256"]} for m in (a, b)]
    mean = {"members": members, "temperature": temperature, "threshold": 0.5, "labels": ["mask", "no_mask"]}
    path = folder / "mean.json"
    path.write_text(json.dumps({**mean, **changes}))
    return path, a, b


def _logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_mean_card_averages_each_members_centred_logit_over_its_temperature(
    tiny_model, tiny_keras_model, tmp_path, temperature
):
    from facemask.classification.classifier import centre_on_threshold

    path, a, b = _mean_card(tiny_model, tiny_keras_model, tmp_path, temperature)
    crops = np.stack([np.full((32, 32, 3), v, np.uint8) for v in (40, 120, 135, 220)])
    pa = MaskClassifier(ClassifierConfig(model=str(a))).predict_crops(crops)
    pb = MaskClassifier(ClassifierConfig(model=str(b))).predict_crops(crops)
    mean = MaskClassifier(ClassifierConfig(model=str(path)))
    assert [m.path for m in mean.models] == [a, b] and mean.threshold == 0.5 and mean.name == "mean.json"
    z = (_logit(centre_on_threshold(pa, 0.5)) + _logit(centre_on_threshold(pb, 0.3))) / 2 / temperature
    np.testing.assert_allclose(mean.predict_crops(crops, crops), 1 / (1 + np.exp(-z)), atol=1e-4)
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 100:] = 250
    out = mean.classify(image, Faces(xyxy=[[120, 20, 180, 80], [20, 20, 80, 80]], score=[0.9, 0.8]))
    assert list(out.label) == ["mask", "no_mask"]
    with pytest.raises(FacemaskError, match="no single card"):
        mean.card  # noqa: B018  (a mean has one card per member, not one of its own)


def test_mean_card_refuses_a_member_it_was_not_fitted_on(tiny_model, tiny_keras_model, tmp_path):
    path, a, _ = _mean_card(tiny_model, tiny_keras_model, tmp_path)
    card = json.loads(path.read_text())
    card["members"][0]["sha256"] = "0" * 64  # the member was retrained after the temperature was fitted
    path.write_text(json.dumps(card))
    with pytest.raises(FacemaskError, match=r"m.tflite is not the model this mean was fitted on.*fit_mean.py"):
        MaskClassifier(ClassifierConfig(model=str(path)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"members": []}, "needs members"),
        ({"members": ["m.tflite"]}, "needs members"),
        ({"members": [{"file": "../m.tflite"}]}, "members must be .tflite/.keras file names"),
        ({"members": [{"file": "m.tflite"}] * 9}, "9 members; at most 8"),
        ({"members": [{"file": "gone.tflite"}]}, "gone.tflite: model file not found"),
        ({"temperature": 0}, "temperature must be a number"),
        ({"temperature": float("nan")}, "temperature must be a number"),
        ({"labels": ["no_mask", "mask"]}, "labels must be"),
        ({"threshold": 2}, "threshold must be a finite number"),
    ],
)
def test_malformed_mean_card(tiny_model, tiny_keras_model, tmp_path, changes, message):
    path, _, _ = _mean_card(tiny_model, tiny_keras_model, tmp_path, **changes)
    with pytest.raises(FacemaskError, match=message):
        MaskClassifier(ClassifierConfig(model=str(path)))


def test_a_single_models_card_given_as_the_model_says_so(tiny_model):
    with pytest.raises(FacemaskError, match="a model's card, not a mean card; give the model file"):
        MaskClassifier(ClassifierConfig(model=str(tiny_model.with_suffix(".json"))))
