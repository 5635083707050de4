"""Weighted box fusion (tables), the score mapping, YuNet's box scaling and the fused detector on real scenes."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import shared_path

from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection.fusion import weighted_box_fusion
from facemask.detection.loader import (
    FusedFaceDetector,
    YuNetFaceDetector,
    fusion_settings,
    load_face_detector,
    rescale,
)
from facemask.detection.res10 import FaceDetector, final_cut
from facemask.detection.yunet import YuNetDetector, YuNetSettings, input_scale
from facemask.io.imageio import read_image
from facemask.training.voc import match, read_voc


def faces(boxes, scores) -> Faces:
    return Faces(xyxy=np.array(boxes, np.float32).reshape(-1, 4), score=np.array(scores, np.float32))


def test_agreeing_boxes_become_one_score_weighted_box():
    a, b = faces([[0, 0, 10, 10]], [0.9]), faces([[2, 0, 12, 10]], [0.3])
    out = weighted_box_fusion([a, b], (1.0, 1.0), iou=0.5)
    assert len(out) == 1
    assert out.xyxy[0].tolist() == pytest.approx([0.5, 0, 10.5, 10])  # (0.9 * 0 + 0.3 * 2) / 1.2
    assert out.score[0] == pytest.approx((0.9 + 0.3) / 2)


@pytest.mark.parametrize(
    "weights, seen_by, expected",
    [((1.0, 1.0), 0, 0.4), ((1.0, 1.0), 1, 0.4), ((1.0, 3.0), 1, 0.6), ((1.0, 3.0), 0, 0.2), ((0.0, 1.0), 0, 0.0)],
)
def test_a_face_one_detector_missed_keeps_that_detectors_share(weights, seen_by, expected):
    sets = [faces([], []), faces([], [])]
    sets[seen_by] = faces([[0, 0, 10, 10]], [0.8])
    out = weighted_box_fusion(sets, weights, iou=0.5)
    assert out.score.tolist() == pytest.approx([expected])


def test_separate_faces_stay_apart_and_duplicates_count_once():
    a = faces([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], [0.6, 0.5, 0.7])  # a duplicate on face 1
    b = faces([[0, 0, 10, 10]], [0.8])
    out = weighted_box_fusion([a, b], (1.0, 1.0), iou=0.5)
    order = np.argsort(out.xyxy[:, 0])
    assert out.score[order].tolist() == pytest.approx([(0.6 + 0.8) / 2, 0.7 / 2])


def test_iou_decides_whether_boxes_merge():
    a, b = faces([[0, 0, 10, 10]], [0.9]), faces([[5, 0, 15, 10]], [0.9])  # IoU 1/3
    assert len(weighted_box_fusion([a, b], (1.0, 1.0), iou=0.3)) == 1
    assert len(weighted_box_fusion([a, b], (1.0, 1.0), iou=0.4)) == 2


def test_empty_input_gives_empty_faces():
    out = weighted_box_fusion([faces([], []), faces([], [])], (1.0, 2.0), iou=0.5)
    assert len(out) == 0 and out.xyxy.shape == (0, 4)


@pytest.mark.parametrize("weights", [(1.0,), (1.0, -1.0), (0.0, 0.0)])
def test_bad_weights_are_refused(weights):
    with pytest.raises(ValueError):
        weighted_box_fusion([faces([], []), faces([], [])], weights, iou=0.5)


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.73])
def test_rescale_puts_the_cut_at_one_half_and_keeps_order(cut):
    raw = np.array([0.0, cut / 2, cut, (1 + cut) / 2, 1.0], np.float32)
    out = rescale(raw, cut)
    assert out.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert (np.diff(rescale(np.linspace(0, 1, 101), cut)) > 0).all()


def test_shipped_settings_cover_both_modes_and_were_tuned_without_the_test_half():
    settings = fusion_settings()
    assert "train+val" in settings["about"]
    for mode in ("fast", "accurate"):
        fused, alone = settings["fused"][mode], settings["yunet"][mode]
        assert 0 < fused["confidence"] < 1 and 0 < alone["confidence"] < 1
        assert fused["weights"]["res10"] > 0 and fused["weights"]["yunet"] > 0
    assert settings["fused"]["fast"]["yunet"]["area"] <= 120_000  # the video frame budget


def test_unknown_backend_is_refused():
    with pytest.raises(FacemaskError, match="face detector must be one of"):
        DetectorConfig(backend="haar")


def test_a_bad_tuned_cut_is_refused():
    tuned = json.loads(json.dumps(fusion_settings()["yunet"]["fast"])) | {"confidence": 0.0}
    with pytest.raises(FacemaskError, match="tuned cut"):
        YuNetFaceDetector(DetectorConfig(backend="yunet"), tuned)


@pytest.mark.parametrize(
    "size, settings, expected",
    [
        ((400, 300), YuNetSettings(120_000, 1.0), 1.0),
        ((400, 300), YuNetSettings(480_000, 2.0), 2.0),
        ((400, 300), YuNetSettings(480_000, 1.5), 1.5),
        ((1280, 720), YuNetSettings(120_000, 1.0), 0.361),
        ((400, 300), YuNetSettings(4_000_000, 9.0), 2.4),
    ],  # 960 px longest side at most
)
def test_yunet_input_scale(size, settings, expected):
    assert input_scale(*size, settings) == pytest.approx(expected, abs=1e-3)


def scene(name: str):
    root = shared_path("mask-detection")
    return read_image(root / "images" / f"{name}.jpg"), read_voc(root / "annotations" / f"{name}.xml")


def test_yunet_boxes_are_in_the_input_images_pixels():
    image, _ = scene("maksssksksss0")
    small = YuNetDetector(YuNetSettings(area=image.shape[0] * image.shape[1], max_upscale=1.0, confidence=0.5))
    found = small.detect(image)
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    found_big = small.detect(big)  # the same network input, resized down by half
    assert len(found) >= 3 and len(found_big) == len(found)
    order, order_big = np.argsort(found.xyxy[:, 0]), np.argsort(found_big.xyxy[:, 0])
    assert found_big.xyxy[order_big] == pytest.approx(2 * found.xyxy[order], abs=4)


@pytest.mark.parametrize(
    "backend, kind", [("res10", FaceDetector), ("yunet", YuNetFaceDetector), ("fused", FusedFaceDetector)]
)
def test_load_face_detector_builds_the_named_backend(backend, kind):
    detector = load_face_detector(DetectorConfig(backend=backend, mode="fast"))
    assert isinstance(detector, kind) and detector.config.backend == backend


def test_fused_finds_masked_faces_res10_misses_without_losing_its_own():
    """On real scenes of the train split: every face res10 finds is kept, and masked faces are added."""
    res10 = FaceDetector(DetectorConfig(backend="res10", mode="accurate"))
    fused = FusedFaceDetector(DetectorConfig(backend="fused", mode="accurate"))
    found = {"res10": 0, "fused": 0, "res10_only": 0}
    for name in ("maksssksksss0", "maksssksksss1", "maksssksksss4", "maksssksksss5"):
        image, gt = scene(name)
        big = np.maximum(gt.xyxy[:, 2] - gt.xyxy[:, 0], gt.xyxy[:, 3] - gt.xyxy[:, 1]) >= 32
        hits = {}
        for key, det in (("res10", res10), ("fused", fused)):
            f = det.detect(image)
            assigned = match(f.xyxy, f.score, gt.xyxy)
            hits[key] = set(assigned[assigned >= 0].tolist()) & set(np.flatnonzero(big).tolist())
            found[key] += len(hits[key])
        found["res10_only"] += len(hits["res10"] - hits["fused"])
    assert found["fused"] > found["res10"] and found["res10_only"] == 0, found


@pytest.mark.parametrize("backend", ["yunet", "fused"])
def test_the_cut_is_the_last_step(backend):
    """tools/score_detection.py draws the curve from one run at a low cut; that needs this to hold."""
    image, _ = scene("maksssksksss1")
    config = DetectorConfig(backend=backend, mode="fast", confidence=0.5)
    at_half = load_face_detector(config).detect(image)
    low = load_face_detector(replace(config, confidence=0.02)).detect(image)
    kept = final_cut(low, config)
    assert len(low) > len(kept) > 0
    assert at_half.xyxy.tolist() == kept.xyxy.tolist() and at_half.score.tolist() == kept.score.tolist()
