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
        threshold = self._second_look()
        split = [detect_split(self.detector, image, threshold is not None) for image in images]
        found = [faces for faces, _ in split]
        lap("detect")
        if self.classifier is not None and any(len(faces) for faces in found):
            classified = self.classifier.classify_many(images, found)
            found = [new if len(faces) else faces for faces, new in zip(found, classified)]
            if threshold is not None:
                found = [second_look(faces, self.detector.config.confidence, threshold) for faces in found]
        lap("classify")
        return [(faces, unsure) for faces, (_, unsure) in zip(found, split)]

    def _second_look(self) -> float | None:
        """The not-face cut when the detector has candidates to give (a preset's second look) and the
        classifier a "not a face" output to check them; None: the detector's own cut is the last word."""
        if self.classifier is None or getattr(self.detector, "look_floor", None) is None:
            return None
        return self.classifier.not_face_threshold


def second_look(faces: Faces, cut: float, not_face_threshold: float | None) -> Faces:
    """The one rule for a detector's candidates scored under its cut: kept only where the classifier's
    P(not a face) stays under `not_face_threshold` (None: no such output, so none is kept).

    Every face costs a classifier crop anyway, so a lower detector cut checked by a "not a face" output
    finds small and masked faces a higher cut misses, without the ears, hair and signs it also lets in.
    """
    low = faces.score < cut
    if not low.any():
        return faces
    if not_face_threshold is None:
        return faces[~low]
    return faces[~low | (1.0 - faces.face_prob < not_face_threshold)]
