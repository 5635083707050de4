"""Detector plus classifier for one image: the unit every entry point (CLI, app, evaluate) shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facemask.classifier import MaskClassifier
from facemask.config import ClassifierConfig, DetectorConfig
from facemask.face_detectors import Detector, load_face_detector
from facemask.types import Faces


@dataclass
class FaceMaskAnalyzer:
    detector: Detector
    classifier: MaskClassifier

    @classmethod
    def load(
        cls, detector: DetectorConfig | None = None, classifier: ClassifierConfig | None = None
    ) -> FaceMaskAnalyzer:
        return cls(load_face_detector(detector), MaskClassifier(classifier))

    def analyze(self, image: np.ndarray) -> Faces:
        """Every face in the image with its mask label, in one classifier batch."""
        faces = self.detector.detect(image)
        return self.classifier.classify(image, faces) if len(faces) else faces
