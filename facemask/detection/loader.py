"""Which face detector runs: CenterFace (the default) or the design's res10 SSD.

CenterFace's settings are data, shipped as facemask/detection/face_detectors.json: its input size
and the cut per preset, chosen on the scenes' train+val split by tools/tune_centerface.py. The
tuned cut is mapped to 0.5 on the reported score, so `DetectorConfig.confidence` (0.5 by default)
means "the tuned operating point" for every backend, as it always did for res10, and moving it
trades recall for precision the same way. (res10 and YuNet fused by weighted box fusion, with a face
check on their weaker boxes, found fewer masked faces than CenterFace alone at several times its
cost, and were removed: docs/bench/centerface_tuning.json, docs/benchmarks.md.)
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Protocol

import numpy as np

from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection.centerface import SETTINGS_FILE, CenterFaceDetector
from facemask.detection.res10 import Res10Detector


class Detector(Protocol):
    """What the pipeline needs of a face detector."""

    config: DetectorConfig

    def detect(self, image: np.ndarray) -> Faces:
        """The faces in `image`."""
        ...


@cache
def detector_settings() -> dict:
    """The tuned settings shipped in the package (read once; the file is part of the code)."""
    try:
        return json.loads(resources.files("facemask.detection").joinpath(SETTINGS_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise FacemaskError(f"facemask/{SETTINGS_FILE}: tuned face detector settings unreadable ({exc})") from None


def detect_split(detector: Detector, image: np.ndarray, candidates: bool = False) -> tuple[Faces, np.ndarray]:
    """`detector`'s faces (with its second look's candidates when `candidates`) and the boxes it would have the
    blur hide too (its own faces alone when it has no lower cut: res10, a test's fake)."""
    split = getattr(detector, "detect_split", None)
    if split is not None:
        return split(image, candidates=True) if candidates else split(image)
    faces = detector.detect_candidates(image) if candidates else detector.detect(image)  # type: ignore[attr-defined]
    return faces, faces.xyxy


def load_face_detector(config: DetectorConfig | None = None) -> Detector:
    """The detector `config.backend` names, ready to run."""
    config = config or DetectorConfig()
    if config.backend == "res10":
        return Res10Detector(config)
    return CenterFaceDetector(config, detector_settings()["centerface"][config.mode])
