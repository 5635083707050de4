"""`facemask evaluate` runs the builder's pipeline; an image without a face is classified whole."""

from __future__ import annotations

import json

import cv2
import numpy as np
from conftest import run_facemask

from facemask.classification.crops import face_crops, resize_rgb
from facemask.core.config import DetectorConfig
from facemask.core.types import Faces
from facemask.evaluation.evaluate import WholeImageWhenNoFace


class Finds:
    config = DetectorConfig()

    def __init__(self, faces: Faces) -> None:
        self.faces = faces

    def detect(self, image: np.ndarray) -> Faces:
        return self.faces


def test_faces_found_pass_through_unchanged():
    found = Faces(xyxy=[[1, 2, 30, 40]], score=[0.9])
    assert WholeImageWhenNoFace(Finds(found)).detect(np.zeros((60, 80, 3), np.uint8)) is found


def test_no_face_is_the_whole_image_and_its_crop_is_the_training_crop():
    image = np.random.default_rng(0).integers(0, 255, (60, 80, 3), np.uint8)
    faces = WholeImageWhenNoFace(Finds(Faces.empty())).detect(image)
    assert faces.xyxy.tolist() == [[0, 0, 80, 60]]
    # the crop the classifier cuts from that box is the picture whole, as training crops an image with no face
    assert np.array_equal(face_crops(image, faces.xyxy, 32)[0], resize_rgb(image, 32))


# ---------------------------------------------------------------- a folder the model was trained on


def test_evaluate_says_when_the_folder_trained_the_model(tmp_path, tiny_model):
    """Item 11: `evaluate` on the training folder reported 100 % with no word that those images trained it."""

    from facemask.evaluation.provenance import folder_fingerprint

    root = tmp_path / "mine"
    entries = []
    for label, folder, value in (("mask", "with_mask", 220), ("no_mask", "without_mask", 30)):
        (root / folder).mkdir(parents=True)
        for i in range(2):
            path = root / folder / f"{i}.png"
            cv2.imwrite(str(path), np.full((48, 48, 3), value + i, np.uint8))
            entries.append((f"{folder}/{i}.png", label, __import__("hashlib").sha256(path.read_bytes()).hexdigest()))
    model = tmp_path / "tiny.tflite"  # a copy: the shared fixture's card stays as it is
    model.write_bytes(tiny_model.read_bytes())
    card_path = model.with_suffix(".json")
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["datasets"] = [{"name": "folder:elsewhere", "sha256": folder_fingerprint(entries), "split_sizes": {"test": 1}}]
    card_path.write_text(json.dumps(card))
    proc = run_facemask("evaluate", root, "--model", model)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "note: " in proc.stderr and "is the training set of" in proc.stderr and "not a test score" in proc.stderr
    card["datasets"] = [{"name": "folder:other", "sha256": "0" * 64}]
    card_path.write_text(json.dumps(card))
    proc = run_facemask("evaluate", root, "--model", model)
    assert proc.returncode == 0 and "note:" not in proc.stderr
