"""`facemask evaluate` runs the builder's pipeline; an image without a face is classified whole."""

from __future__ import annotations

import numpy as np

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
