"""Three and four labels through the real `train.py` (issues 38 and 36), on tiny generated data.

The lite net from scratch at 32 px for one epoch, as in test_train_e2e: the figures mean nothing, the
files, their fields and the shapes are what is checked.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from training_fixtures import tone_folder, train_tiny


def _train(out: Path, *datasets_and_flags: str) -> subprocess.CompletedProcess:
    return train_tiny(out, *datasets_and_flags, "--epochs", "1", "--quantize", "int8")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Bright pictures are `with_mask`, dark ones `without_mask`, mid-grey ones `incorrect_mask`."""
    tones = {"with_mask": 190, "without_mask": 40, "incorrect_mask": 115}
    return tone_folder(tmp_path_factory.mktemp("ds3"), tones, per_class=12, spread=30)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """20 VOC scenes with a masked, an unmasked and an incorrectly masked face box each."""
    root = tmp_path_factory.mktemp("scenes3")
    (root / "images").mkdir()
    (root / "annotations").mkdir()
    rng = np.random.default_rng(1)
    boxes = (("with_mask", 20, 20, 200), ("without_mask", 100, 50, 40), ("mask_weared_incorrect", 60, 70, 115))
    for i in range(20):
        image = cv2.resize(
            rng.integers(60, 180, (3, 4, 3)).astype(np.uint8), (160, 120), interpolation=cv2.INTER_NEAREST
        )
        for _, x, y, base in boxes:
            image[y : y + 40, x : x + 40] = base + rng.integers(-30, 30, (40, 40, 3))
        cv2.imwrite(str(root / "images" / f"s{i}.jpg"), image)
        objects = "".join(
            f"<object><name>{name}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin><xmax>{x + 40}</xmax>"
            f"<ymax>{min(y + 40, 120)}</ymax></bndbox></object>"
            for name, x, y, _ in boxes
        )
        (root / "annotations" / f"s{i}.xml").write_text(
            f"<annotation><filename>s{i}.jpg</filename><size><width>160</width><height>120</height></size>"
            f"{objects}</annotation>"
        )
    return root


def _outputs(model: Path, size: int) -> np.ndarray:
    from facemask.classification.runtime import LiteRTRunner

    x = np.random.default_rng(0).integers(0, 256, (5, size, size, 3)).astype(np.float32)
    return LiteRTRunner(model, 1)(x)


def test_a_folder_with_incorrect_mask_trains_three_labels(folder, tmp_path):
    out = tmp_path / "run3"
    proc = _train(out, "--dataset", str(folder))
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads((out / "model.json").read_text())
    assert card["labels"] == ["mask", "no_mask", "incorrect_mask"] and card["decision"] == "argmax"
    assert "not_face_threshold" not in card and card["calibration"]["temperature"] > 0
    probs = _outputs(out / "model.tflite", card["input_size"])
    assert probs.shape == (5, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=0.02)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"mask", "no_mask", "incorrect_mask"}
    assert len(metrics["confusion_matrix"]["matrix"]) == 3 and "two_class" in metrics
    from facemask.classification.card import card_problems

    assert card_problems(card) == []


def test_not_face_trains_four_labels_with_a_cut_and_no_mined_crop_in_test(folder, scenes, tmp_path):
    out = tmp_path / "run4"
    proc = _train(out, "--dataset", str(folder), "--dataset", str(scenes), "--not-face", "0.5")
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads((out / "model.json").read_text())
    assert card["labels"] == ["mask", "no_mask", "incorrect_mask", "not_face"] and card["decision"] == "argmax"
    assert 0.0 < card["not_face_threshold"] <= 1.0
    assert card["not_face_threshold_chosen"]["kept_faces"] >= 0.995
    assert _outputs(out / "model.tflite", card["input_size"]).shape == (5, 4)
    split = json.loads((out / "split.json").read_text())
    scene_doc = next(v for k, v in split.items() if k.startswith("scenes:"))
    assert sum(kinds["mined"] + kinds["beside"] for kinds in scene_doc["not_face"].values()) > 0
    assert set(scene_doc["not_face"]) == {"train", "val"}
    scene_report = next(v for k, v in card["test_metrics_by_source_keras_float32"].items() if k.startswith("scenes:"))
    # The scene test split holds its three annotated faces per scene and no not-face.
    assert scene_report["n"] == 3 * len(scene_doc["splits"]["test"])
    assert scene_report["per_class"]["not_face"]["support"] == 0
    assert scene_report["per_class"]["incorrect_mask"]["support"] == len(scene_doc["splits"]["test"])


def _ends_in_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and fragment in last, proc.stderr[-1000:]


def test_not_face_without_a_scene_set_is_one_error_line(folder, tmp_path):
    _ends_in_error(_train(tmp_path / "o", "--dataset", str(folder), "--not-face", "0.2"), "--not-face")


def test_a_teacher_is_refused_for_three_labels(folder, tmp_path):
    _ends_in_error(_train(tmp_path / "o", "--dataset", str(folder), "--teacher", "default"), "--teacher")
