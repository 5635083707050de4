"""Detector plus classifier for one image: the one place a frame is detected, then classified.

Every entry point reaches it through the pipeline (builder.build_pipeline); it is also the
public one-image API the README shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig, DetectorConfig
from facemask.core.types import Faces
from facemask.detection.loader import Detector, load_face_detector

Lap = Callable[[str], None]  # runstats.StageClock.lap: charges the time since the last lap to a stage


def _no_lap(stage: str) -> None:
    """Nobody is timing this call."""


@dataclass
class FaceMaskAnalyzer:
    """`classifier=None` detects only (faces stay unclassified), for scoring a detector alone."""

    detector: Detector
    classifier: MaskClassifier | None

    @classmethod
    def load(
        cls, detector: DetectorConfig | None = None, classifier: ClassifierConfig | None = None
    ) -> FaceMaskAnalyzer:
        return cls(load_face_detector(detector), MaskClassifier(classifier))

    def analyze(self, image: np.ndarray, lap: Lap = _no_lap) -> Faces:
        """Every face in the image with its mask label, in one classifier batch.

        `lap("detect")` and `lap("classify")` mark the end of each step, so a run can time them apart.
        """
        faces = self.detector.detect(image)
        lap("detect")
        if self.classifier is not None and len(faces):
            faces = self.classifier.classify(image, faces)
        lap("classify")
        return faces
