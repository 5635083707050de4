"""Mosaic scenes (evaluation/mosaics.py): photos side by side at their own size, boxes and by-eye labels moved."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facemask.detection.centerface import CenterFaceSettings
from facemask.evaluation.by_eye import ByEye
from facemask.evaluation.mosaics import BACKGROUND, compose, mosaic_by_eye, photo_by_eye, plan, voc_xml, write_mosaics
from facemask.training.voc import VocImage, read_voc, voc_dataset


def photo(w: int, h: int, value: int, box: tuple[float, ...], name: str) -> tuple[np.ndarray, VocImage]:
    image = np.full((h, w, 3), value, np.uint8)
    return image, VocImage(f"{name}.jpg", w, h, np.array([box], np.float32), ("with_mask",))


def test_compose_keeps_every_photo_s_pixels_and_shifts_its_boxes():
    pairs = [
        photo(40, 30, 10, (1, 2, 11, 12), "a"),
        photo(50, 20, 20, (5, 5, 15, 15), "b"),
        photo(30, 30, 30, (0, 0, 8, 8), "c"),
    ]
    m = compose(pairs, cols=2, name="m")
    assert m.image.shape == (30 + 30, 90, 3)  # rows as tall as their tallest photo, as wide as the widest row
    assert (
        (m.image[0:30, 0:40] == 10).all() and (m.image[0:20, 40:90] == 20).all() and (m.image[30:60, 0:30] == 30).all()
    )
    assert (m.image[20:30, 40:90] == BACKGROUND).all()
    np.testing.assert_allclose(m.annotation.xyxy, [[1, 2, 11, 12], [45, 5, 55, 15], [0, 30, 8, 38]])
    assert m.annotation.names == ("with_mask",) * 3 and m.sources == ("a.jpg", "b.jpg", "c.jpg")


def test_an_annotation_of_another_size_is_scaled_to_the_file():
    image, ann = photo(80, 60, 5, (10, 10, 20, 20), "a")
    ann = VocImage(ann.filename, 40, 30, ann.xyxy, ann.names)  # the XML says half the size
    np.testing.assert_allclose(compose([(image, ann)], 1, "m").annotation.xyxy, [[20, 20, 40, 40]])


def test_plan_puts_every_photo_in_exactly_one_mosaic_and_is_seeded():
    names = [f"p{i}" for i in range(30)]
    groups = plan(names, seed=3)
    assert [len(g) for g in groups] == [4, 9, 4, 9, 4]
    assert sorted(n for g in groups for n in g) == sorted(names)
    assert plan(names, seed=3) == groups and plan(names, seed=4) != groups


def test_written_mosaics_read_back_as_voc_and_carry_the_photos_labels(tmp_path):
    sources = {}
    for i in range(5):
        image, ann = photo(60 + 10 * i, 40, 40 * i, (4, 4, 24, 30), f"s{i}")
        path = tmp_path / "src" / ann.filename
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), image)
        sources[ann.filename] = (path, ann)
    index = write_mosaics(sources, tmp_path / "out", plan(sorted(sources), seed=1), "test")
    pairs = voc_dataset(tmp_path / "out")
    assert len(pairs) == len(index) == 2
    total = sum(len(ann.xyxy) for _, ann in pairs)
    assert total == 5 and read_voc(tmp_path / "out" / "annotations" / "test_000.xml").width == index[0]["width"]
    # a label a person gave in a photo lands on the same pixels in the mosaic
    first = index[0]["sources"][1]
    moved = mosaic_by_eye(ByEye({first: np.array([[4, 4, 24, 30]], np.float32)}, {first: ["face"]}), index)
    x, y = index[0]["placements"][1][:2]
    assert moved.label("test_000.jpg", np.array([[4 + x, 4 + y, 24 + x, 30 + y]])) == ["face"]
    # and a label given in the mosaic itself stays beside them
    both = ByEye(
        {first: np.array([[4, 4, 24, 30]], np.float32), "test_000.jpg": np.array([[0, 0, 9, 9]], np.float32)},
        {first: ["face"], "test_000.jpg": ["not_face"]},
    )
    assert mosaic_by_eye(both, index).label(
        "test_000.jpg", np.array([[0, 0, 9, 9], [4 + x, 4 + y, 24 + x, 30 + y]])
    ) == ["not_face", "face"]
    assert b"<name>with_mask</name>" in voc_xml(pairs[0][1])
    # and a label given in a mosaic goes back to the photo holding its centre, in the photo's pixels
    given = ByEye({"test_000.jpg": np.array([[4 + x, 4 + y, 24 + x, 30 + y]], np.float32)}, {"test_000.jpg": ["face"]})
    back = photo_by_eye(given, index)
    assert list(back.boxes) == [first] and back.boxes[first].tolist() == [[4, 4, 24, 30]]


@pytest.mark.parametrize(
    "settings, size, expected",
    [
        (CenterFaceSettings(480), (1000, 700), 480),  # video: one size whatever the frame
        (CenterFaceSettings(480, max_longest=800), (400, 300), 480),  # a small photo is scaled up
        (CenterFaceSettings(480, max_longest=800), (700, 500), 700),  # a mid one keeps its pixels
        (CenterFaceSettings(480, max_longest=800), (4000, 3000), 800),  # a huge one is bounded
    ],
)
def test_the_photo_preset_follows_the_picture_within_bounds(settings, size, expected):
    assert settings.target(*size) == expected
