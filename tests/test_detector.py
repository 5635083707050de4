"""Box maths (tables), and the res10 detector on real annotated scenes from ../shared/data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_error, run_isolated, shared_path
from nasty_files import image

from facemask.core.boxes import box_sizes, clip_boxes, expand_square, iou_matrix
from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.detection.res10 import Res10Detector, drop_nested, fuse, plan_passes


@pytest.mark.parametrize(
    "box, expected",
    [
        ([-5, -5, 50, 50], [0, 0, 50, 50]),
        ([90, 40, 130, 90], [90, 40, 100, 60]),
        ([10, 10, 20, 20], [10, 10, 20, 20]),
        ([120, 70, 150, 90], [100, 60, 100, 60]),
    ],
)
def test_clip_boxes(box, expected):
    assert clip_boxes(np.array([box]), width=100, height=60).tolist() == [expected]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 1 / 3),
        ([0, 0, 10, 10], [2, 2, 4, 4], 0.04),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_iou(a, b, expected):
    assert iou_matrix(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


def test_iou_matrix_shape():
    assert iou_matrix(np.zeros((3, 4)), np.zeros((0, 4))).shape == (3, 0)


@pytest.mark.parametrize(
    "box, margin, size, expected",
    [
        ([40, 40, 60, 60], 0.0, (100, 100), (40, 40, 60, 60)),
        ([40, 40, 60, 60], 0.5, (100, 100), (30, 30, 70, 70)),
        ([40, 30, 60, 70], 0.0, (100, 100), (30, 30, 70, 70)),  # tall box -> square on its long side
        ([0, 0, 20, 20], 0.5, (100, 100), (0, 0, 30, 30)),  # clipped at the corner
        ([80, 40, 100, 60], 0.25, (100, 50), (75, 35, 100, 50)),
    ],
)
def test_expand_square(box, margin, size, expected):
    assert expand_square(box, margin, *size) == expected


@pytest.mark.parametrize("box, side", [([0, 0, 10, 30], 10), ([5, 5, 45, 25], 20), ([3, 3, 3, 9], 0)])
def test_box_sizes(box, side):
    assert box_sizes(np.array([box])).tolist() == [side]


@pytest.mark.parametrize(
    "size, mode, full, tiles",
    [
        ((400, 300), "fast", (400, 300), 0),
        ((1280, 720), "fast", (462, 260), 0),
        ((338, 640), "fast", (252, 477), 0),
        ((400, 300), "accurate", (400, 300), 6),
        ((1280, 720), "accurate", (533, 300), 8),
        ((100, 80), "accurate", (100, 80), 1),
        ((4000, 3000), "accurate", (462, 346), 6),
    ],
)
def test_plan_passes(size, mode, full, tiles):
    w, h = size
    passes = plan_passes(w, h, mode)
    assert passes[0].crop == (0, 0, w, h) and passes[0].size == full and not passes[0].tile
    crops = np.array([p.crop for p in passes[1:]]).reshape(-1, 4)
    assert len(crops) == tiles and all(p.tile and max(p.size) <= 300 for p in passes[1:])
    if tiles:  # the tiles cover the frame
        assert crops[:, :2].min() == 0 and crops[:, 2].max() == w and crops[:, 3].max() == h


@pytest.mark.parametrize(
    "groups, expected",
    [(["full", "tiles"], [1 - 0.4 * 0.5]), (["full", "full"], [0.6]), (["tiles", "tiles"], [0.6])],
)
def test_fuse_counts_each_group_once(groups, expected):
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10]], np.float32)
    xyxy, score = fuse(boxes, np.array([0.6, 0.5], np.float32), np.array(groups), iou=0.4)
    assert xyxy.tolist() == [[0, 0, 10, 10]] and score.tolist() == pytest.approx(expected)


def test_fuse_keeps_separate_faces_apart():
    boxes = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    _, score = fuse(boxes, np.array([0.3, 0.9], np.float32), np.array(["full", "tiles"]), iou=0.4)
    assert score.tolist() == pytest.approx([0.9, 0.3])


def test_drop_nested_removes_parts_of_a_larger_face_only():
    boxes = np.array([[0, 0, 100, 100], [20, 20, 50, 50], [90, 90, 130, 130], [200, 0, 230, 30]], np.float32)
    score = np.array([0.9, 0.5, 0.5, 0.5], np.float32)
    assert drop_nested(boxes, score).tolist() == [True, False, True, True]


def test_drop_nested_keeps_a_face_inside_a_weaker_large_box():
    """A body or crowd patch res10 half-believes (0.11) must not erase the sure face inside it (0.94)."""
    boxes = np.array([[64, 9, 318, 366], [76, 99, 115, 140]], np.float32)
    assert drop_nested(boxes, np.array([0.11, 0.94], np.float32)).tolist() == [True, True]
    assert drop_nested(boxes, np.array([0.94, 0.11], np.float32)).tolist() == [True, False]


@pytest.fixture(scope="module")
def detectors() -> dict[str, Res10Detector]:
    return {mode: Res10Detector(DetectorConfig(mode=mode)) for mode in ("fast", "accurate")}


def annotated_faces(xml_path, min_side: int = 64) -> list[tuple[str, list[float]]]:
    """(class, box) of the annotated faces whose longer side is at least `min_side` px."""
    faces = []
    for obj in ET.parse(xml_path).getroot().iter("object"):
        box = [float(obj.find("bndbox").findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")]
        if max(box[2] - box[0], box[3] - box[1]) >= min_side:
            faces.append((obj.findtext("name"), box))
    return faces


# Scenes with large faces, masked and unmasked, that res10 is known to find (see data/README.md).
SCENES = ["maksssksksss7", "maksssksksss14", "maksssksksss42", "maksssksksss44", "maksssksksss83"]


@pytest.mark.parametrize("scene", SCENES)
def test_detector_finds_the_annotated_large_faces(detectors, scene):
    root = shared_path("mask-detection")
    image = cv2.imread(str(root / "images" / f"{scene}.jpg"))
    truth = annotated_faces(root / "annotations" / f"{scene}.xml")
    assert truth, f"{scene} was chosen for its large faces"
    faces = detectors["accurate"].detect(image)
    h, w = image.shape[:2]
    assert np.all(faces.xyxy[:, [0, 2]] <= w) and np.all(faces.xyxy[:, [1, 3]] <= h) and np.all(faces.xyxy >= 0)
    assert np.all(faces.score >= 0.5)
    overlap = iou_matrix(np.array([box for _, box in truth]), faces.xyxy)
    for (name, box), best in zip(truth, overlap.max(axis=1)):
        assert best >= 0.4, f"{scene}: {name} face at {box} not found (best IoU {best:.2f})"


def test_accurate_mode_finds_at_least_what_fast_mode_finds(detectors):
    root = shared_path("mask-detection")
    image = cv2.imread(str(root / "images" / "maksssksksss42.jpg"))
    fast, accurate = detectors["fast"].detect(image), detectors["accurate"].detect(image)
    assert len(accurate) >= len(fast) >= 1
    assert iou_matrix(fast.xyxy, accurate.xyxy).max(axis=1).min() > 0.5


def test_no_faces_in_a_blank_picture(detectors):
    faces = detectors["fast"].detect(np.full((240, 320, 3), 127, np.uint8))
    assert len(faces) == 0 and faces.xyxy.shape == (0, 4)


@pytest.mark.parametrize("image", [np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10), np.uint8)])
def test_detector_rejects_empty_or_flat_frames(detectors, image):
    with pytest.raises(FacemaskError, match="empty frame"):
        detectors["fast"].detect(image)


# ---------------------------------------------------------------- res10 files that break their parser


def _res10_weights() -> Path:
    from facemask.detection.res10 import locate_weights

    try:
        return locate_weights(allow_download=False)[1]
    except Exception:  # noqa: BLE001 - not installed here
        pytest.skip("the res10 face detector weights are not installed")


@pytest.mark.parametrize(
    "prototxt",
    [b'name: "x"\nlayer { garbage [[[ \n', b"\xff\xfe\x00binary", b"layer {" * 20000],
    ids=["garbage", "binary", "nested"],
)
def test_a_broken_face_detector_prototxt_is_one_error(tmp_path, tiny_model, prototxt):
    folder = tmp_path / "face"
    folder.mkdir()
    (folder / "deploy.prototxt.txt").write_bytes(prototxt)
    (folder / _res10_weights().name).symlink_to(_res10_weights())
    argv = ("--no-display", "--model", tiny_model, "--face-detector", "res10", "--face-model", folder)
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), *argv)
    assert_one_error(proc, "deploy.prototxt.txt: not a valid Caffe prototxt", code=2)
