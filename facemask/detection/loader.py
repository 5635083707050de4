"""Which face detector runs: res10 SSD alone, YuNet alone, or res10 first and YuNet fused with it.

The fused detector's settings are data, shipped as facemask/detection/face_fusion.json: YuNet's
input size, res10's score floor, the fusion weights and IoU and the cut, chosen on the scenes'
train+val split, with the face check's (detection/facecheck.py) lower cut and thresholds, by
tools/tune_joint.py (fusion and check together). Each tuned cut is mapped to 0.5 on the
reported score, so `DetectorConfig.confidence` (0.5 by default) means "the tuned operating point"
for every backend, as it always did for res10, and moving it trades recall for precision the same way.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Protocol

import numpy as np

from facemask.core.boxes import iou_matrix
from facemask.core.config import DetectorConfig, TrackerConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection.centerface import CenterFaceNet, CenterFaceSettings, faces_of
from facemask.detection.facecheck import FaceCheck
from facemask.detection.fusion import weighted_box_fusion
from facemask.detection.res10 import FaceDetector, final_cut
from facemask.detection.yunet import FLOOR, YuNetDetector, YuNetSettings

SETTINGS_FILE = "face_fusion.json"
HELD_IOU = 0.3  # a candidate overlapping a tracked face this much is that face
CENTERFACE_FLOOR = 0.05  # decode down to this raw score, or lower when --confidence asks for it
BIRTH = TrackerConfig.birth_score  # the reported score from which a box starts a track by the usual rule


class Detector(Protocol):
    """What the pipeline needs of a face detector."""

    config: DetectorConfig

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        """The faces in `image`. `held`: the boxes of the people the tracker has confirmed in this stream,
        which a detector may trust without a second look (the fused detector's face check skips them)."""
        ...


@cache
def fusion_settings() -> dict:
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


class YuNetFaceDetector:
    """YuNet alone, at the mode's tuned input size and cut."""

    def __init__(self, config: DetectorConfig, settings: dict | None = None) -> None:
        self.config = config
        tuned = settings or fusion_settings()["yunet"][config.mode]
        self.cut = tuned_cut(tuned)
        settings = YuNetSettings(area=tuned["area"], max_upscale=tuned["max_upscale"], confidence=FLOOR)
        self.yunet = YuNetDetector(settings)

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        faces = self.yunet.detect(image)
        faces = faces.with_(score=rescale(faces.score, self.cut))
        return final_cut(faces, self.config)


class CenterFaceDetector:
    """CenterFace alone, at the mode's tuned input size and cut; its faces carry five landmarks."""

    def __init__(self, config: DetectorConfig, settings: dict | None = None) -> None:
        self.config = config
        tuned = settings or fusion_settings()["centerface"][config.mode]
        self.cut = tuned_cut(tuned)
        floor = min(CENTERFACE_FLOOR, unrescale(config.confidence, self.cut))
        self.net = CenterFaceNet(CenterFaceSettings(longest=int(tuned["longest"]), floor=floor))

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        faces = faces_of(self.net.detect(image))
        return final_cut(faces.with_(score=rescale(faces.score, self.cut)), self.config)


class FusedFaceDetector:
    """res10 (the first stage, as the design card has it) plus YuNet, merged by weighted box fusion."""

    def __init__(self, config: DetectorConfig, settings: dict | None = None) -> None:
        self.config = config
        tuned = settings or fusion_settings()["fused"][config.mode]
        res10_config = replace(config, backend="res10", mode=tuned["res10_mode"], confidence=tuned["res10_confidence"])
        self.res10 = FaceDetector(res10_config)
        self.yunet = YuNetDetector(YuNetSettings(**tuned["yunet"]))
        self.weights = (float(tuned["weights"]["res10"]), float(tuned["weights"]["yunet"]))
        self.iou = float(tuned["iou"])
        check = tuned.get("check") if config.face_check else None
        self.check = FaceCheck() if check else None
        self.cut = tuned_cut(check or tuned)  # the check lets the detector cut lower: its own tuned cut
        own = tuned_cut(tuned)  # the detector's cut without the check, and where it reported BIRTH:
        self.birth = own + (BIRTH - 0.5) * (1.0 - own) / 0.5 if check else self.cut
        self.verify_below = float(self.reported(np.float32(check["verify_below"]))) if check else 0.0
        self.face_cut = float(check["face_cut"]) if check else 0.0

    def reported(self, score: np.ndarray) -> np.ndarray:
        """The fused score mapped so the tuned cut is 0.5. With the check the cut is lower, but from BIRTH
        up a box reports what it did without the check: the check changes which weaker boxes are kept,
        which carry a person's track and start one only under the tracker's stricter weak rule
        (ByteTrack's two levels, tracking/)."""
        if self.birth <= self.cut:
            return rescale(score, self.cut)
        return np.interp(score, (0.0, self.cut, self.birth, 1.0), (0.0, 0.5, BIRTH, 1.0)).astype(np.float32)

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        faces = weighted_box_fusion([self.res10.detect(image), self.yunet.detect(image)], self.weights, self.iou)
        faces = final_cut(faces.with_(score=self.reported(faces.score)), self.config)
        weak = faces.score < self.verify_below
        if self.check is None or not weak.any():
            return faces
        if held is not None and len(held):  # a confirmed person passed the check on the way in
            weak &= iou_matrix(faces.xyxy, held).max(axis=1) < HELD_IOU
        weak = np.flatnonzero(weak)
        keep = np.ones(len(faces), bool)
        keep[weak] = self.check.p_face(image, faces.xyxy[weak]) >= self.face_cut
        return faces[keep]


def load_face_detector(config: DetectorConfig | None = None) -> Detector:
    """The detector `config.backend` names, ready to run."""
    config = config or DetectorConfig()
    if config.backend == "res10":
        return FaceDetector(config)
    if config.backend == "yunet":
        return YuNetFaceDetector(config)
    if config.backend == "centerface":
        return CenterFaceDetector(config)
    return FusedFaceDetector(config)
