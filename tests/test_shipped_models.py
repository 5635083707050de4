"""The models in facemask/models/ are deployable as shipped: they load, match their cards, and stay small."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from facemask.classification.card import MODELS_DIR
from facemask.classification.classifier import MaskClassifier
from facemask.classification.shipped import MEAN_MEMBERS, SHIPPED
from facemask.core.config import ClassifierConfig


@pytest.mark.parametrize("name", ["resnet50", "lite", "lite112", "lite128"])
def test_shipped_model_matches_its_card(name):
    path = MODELS_DIR / SHIPPED[name][0]
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["weights_init"] == "none" and card["labels"] == ["mask", "no_mask"]
    # Cards from multi-source training list a split per dataset; the older lite card has one split.
    sizes = card["datasets"][0]["split_sizes"] if "datasets" in card else card["split"]["sizes"]
    assert sizes["test"] > 0 and 0.9 < card["test_metrics_tflite"]["accuracy"] <= 1.0
    clf = MaskClassifier(ClassifierConfig(model=name))
    p = clf.predict_crops(np.zeros((3, card["input_size"], card["input_size"], 3), np.uint8))
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("name", ["lite", "lite112", "lite128"])
def test_light_model_is_under_5_mb(name):
    assert (MODELS_DIR / SHIPPED[name][0]).stat().st_size < 5 * 1024 * 1024


def test_ensemble_is_the_fitted_mean_of_the_shipped_models():
    clf = MaskClassifier(ClassifierConfig(model="ensemble"))
    assert [m.path.name for m in clf.models] == [SHIPPED[n][0] for n in MEAN_MEMBERS]
    assert clf.threshold == 0.5 and 0.2 < clf.temperature < 5
    card = json.loads((MODELS_DIR / SHIPPED["ensemble"][0]).read_text())
    assert set(card["temperature_fitted_on_val"]) == set(card["test_metrics"])  # fitted on val, scored on test
    assert all(m["calibration_ece"] <= 0.03 for m in card["test_metrics"].values())
    sizes = [m.card.input_size for m in clf.models]
    p = clf.predict_crops(*(np.zeros((3, s, s, 3), np.uint8) for s in sizes))
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()


def test_recorded_scores_put_the_mean_at_or_within_one_face_of_its_best_member():
    """docs/bench/classifier_test_splits.json: every model scored in one run on the same test splits."""
    bench = json.loads((REPO / "docs" / "bench" / "classifier_test_splits.json").read_text())
    by_model = {r["model"]: r for r in bench["results"]}
    for split in ("folder:mask-classification", "scenes:mask-detection"):
        mean, members = by_model["ensemble"][split], [by_model[n][split] for n in MEAN_MEMBERS]
        right = [round(m["accuracy"] * m["n"]) for m in members]  # faces right (accuracy is rounded to 4 places)
        assert round(mean["accuracy"] * mean["n"]) >= max(right) - 1, split
        assert mean["accuracy"] >= by_model["resnet50"][split]["accuracy"], split


def test_the_default_is_the_best_single_network_on_the_held_out_scene_crops():
    """The default is one network (issue 28): the most accurate single one on the scenes' test crops."""
    bench = json.loads((REPO / "docs" / "bench" / "classifier_test_splits.json").read_text())
    by_model = {r["model"]: r["scenes:mask-detection"]["accuracy"] for r in bench["results"]}
    assert MaskClassifier(ClassifierConfig(model="default")).models[0].path.name == SHIPPED["default"][0]
    singles = {name: acc for name, acc in by_model.items() if name not in ("default", "ensemble")}
    assert by_model["default"] >= max(singles.values())


def test_the_lite_is_one_network_distilled_from_the_mean():
    """Issue 18: the light model is a single network, taught by the shipped mean's soft labels."""
    card = json.loads((MODELS_DIR / SHIPPED["lite"][0]).with_suffix(".json").read_text())
    assert card["architecture"] == "lite" and card["input_size"] == 112
    stage = card["training"]["stages"][-1]
    assert stage["distillation"]["teacher"] == "default" and stage["distillation"]["teacher_weight"] == 0.5
    # Issue 18: distilled on the shared clips' unlabelled faces as well, labelled by the teacher alone.
    assert {Path(p).name for p in stage["distillation"]["unlabelled"]} >= {"nomask_man.mp4", "dancers_nomask.mp4"}
    assert "cosine" in stage["schedule"] and stage["wall_time_s"] > 0
    assert all(m <= 0.03 for m in card["calibration"]["ece_test"].values())


def test_the_three_label_model_vouches_for_its_file_and_reads_three_labels():
    """lite0_three (issues 38 and 36): mask, no_mask, incorrect_mask and not_face, decided by argmax, under 5 MB."""
    from facemask import FACE_LABELS
    from facemask.core.types import Faces

    path = MODELS_DIR / SHIPPED["lite0_three"][0]
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and path.stat().st_size < 5 * 2**20
    assert card["labels"] == [*FACE_LABELS, "not_face"] and card["decision"] == "argmax"
    clf = MaskClassifier(ClassifierConfig(model="lite0_three"))
    assert clf.multi_class and 0 < clf.not_face_threshold < 1
    image = np.full((120, 160, 3), 128, np.uint8)
    faces = clf.classify(image, Faces(xyxy=[[40, 20, 100, 90], [0, 0, 30, 30]], score=[0.9, 0.8]))
    assert set(faces.label) <= set(FACE_LABELS) and np.allclose(faces.class_prob.sum(axis=1), 1.0, atol=1e-3)
    assert ((faces.face_prob >= 0) & (faces.face_prob <= 1)).all()
