"""The one final cut every face detector ends with, and the score mapping that puts a tuned cut at 0.5."""

from __future__ import annotations

import numpy as np

from facemask.core.boxes import box_sizes
from facemask.core.config import DetectorConfig
from facemask.core.types import Faces


def final_cut(faces: Faces, config: DetectorConfig) -> Faces:
    """Every face detector's cut on its reported score: at least `config.confidence`, at least `config.min_size` px.

    res10 and CenterFace both end with it, and tools/score_detection.py applies
    it to a run at a low cut to read off any higher one.
    """
    return faces[(faces.score >= config.confidence) & (box_sizes(faces.xyxy) >= config.min_size)]


def rescale(score: np.ndarray, cut: float) -> np.ndarray:
    """Map scores monotonically so `cut` lands at 0.5 (piecewise linear; 0 and 1 stay put)."""
    score = np.asarray(score, np.float32)
    return np.where(score < cut, 0.5 * score / cut, 0.5 + 0.5 * (score - cut) / (1.0 - cut)).astype(np.float32)


def unrescale(score: float, cut: float) -> float:
    """The raw score `rescale(., cut)` maps to `score`: tuning reads reported scores, the settings keep raw ones."""
    return score * cut / 0.5 if score < 0.5 else cut + (score - 0.5) * (1.0 - cut) / 0.5
