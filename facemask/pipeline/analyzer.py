"""Detector plus classifier: the one place frames are detected, then classified.

Every entry point reaches it through the pipeline (builder.build_pipeline); it is also the
public one-image API the README shows. A multi-source run hands it one frame per stream a tick
(`analyze_many`), so the classifier sees all their faces in one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig, DetectorConfig
from facemask.core.types import Faces
from facemask.detection.loader import Detector, detect_split, load_face_detector

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
        return self.analyze_many([image], lap)[0]

    def analyze_many(self, images: Sequence[np.ndarray], lap: Lap = _no_lap) -> list[Faces]:
        """`analyze` for one frame of each stream: each detected, then all their faces in one classifier batch."""
        return [faces for faces, _ in self.analyze_split(images, lap)]

    def analyze_split(self, images: Sequence[np.ndarray], lap: Lap = _no_lap) -> list[tuple[Faces, np.ndarray]]:
        """`analyze_many`, each frame's faces with the boxes `--blur` hides too (loader.detect_split), from
        the same detector pass."""
        split = [detect_split(self.detector, image) for image in images]
        found = [faces for faces, _ in split]
        lap("detect")
        if self.classifier is not None and any(len(faces) for faces in found):
            classified = self.classifier.classify_many(images, found)
            found = [new if len(faces) else faces for faces, new in zip(found, classified)]
        lap("classify")
        return [(faces, unsure) for faces, (_, unsure) in zip(found, split)]
