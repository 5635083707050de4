"""The drawing of incorrectly worn masks (issue 38) and the mining of not-faces (issue 36), without a network."""

from __future__ import annotations

import numpy as np
import pytest

from facemask.training.synthetic_masks import CANONICAL, MASK_STYLES, draw_mask

SIZE = 96


def _face() -> np.ndarray:
    rng = np.random.default_rng(0)
    face = np.full((SIZE, SIZE, 3), (205, 160, 130), np.uint8)
    return np.clip(face + rng.integers(-6, 6, face.shape), 0, 255).astype(np.uint8)


def _changed(a: np.ndarray, b: np.ndarray, point, radius: float = 0.03) -> float:
    x, y = (np.asarray(point) * SIZE).astype(int)
    r = int(radius * SIZE)
    window = np.s_[y - r : y + r + 1, x - r : x + r + 1]
    return float(np.mean(np.any(a[window] != b[window], axis=-1)))


@pytest.mark.parametrize("style", MASK_STYLES)
def test_below_the_nose_leaves_the_nose_bare_and_covers_the_mouth(style):
    face = _face()
    drawn = draw_mask(face, np.random.default_rng(1), CANONICAL, style, placement="below_nose")
    assert _changed(face, drawn, CANONICAL[2]) == 0.0  # the nose tip shows
    assert _changed(face, drawn, CANONICAL[3:].mean(axis=0)) > 0.9  # the mouth is covered
    assert all(_changed(face, drawn, eye, 0.05) == 0.0 for eye in CANONICAL[:2])


@pytest.mark.parametrize("style", MASK_STYLES)
def test_on_the_chin_leaves_nose_and_mouth_bare_and_covers_the_chin(style):
    face = _face()
    drawn = draw_mask(face, np.random.default_rng(1), CANONICAL, style, placement="chin")
    assert _changed(face, drawn, CANONICAL[2]) == 0.0
    assert _changed(face, drawn, CANONICAL[3:].mean(axis=0), 0.02) == 0.0
    assert _changed(face, drawn, (0.5, 0.92)) > 0.9  # the chin, below the mouth


def test_worn_right_is_unchanged_by_the_placement_parameter():
    """Two-class runs draw exactly what they drew before the parameter existed."""
    face = _face()
    a = draw_mask(face, np.random.default_rng(5), CANONICAL, "surgical")
    b = draw_mask(face, np.random.default_rng(5), CANONICAL, "surgical", placement="over_nose")
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="placement"):
        draw_mask(face, np.random.default_rng(5), CANONICAL, "surgical", placement="forehead")


def test_pipeline_labels_drawn_incorrect_masks_incorrect_mask():
    tf = pytest.importorskip("tensorflow")
    from facemask.training.augment import synthetic

    eye = np.eye(4, dtype=np.float32)
    image, target = synthetic(0.0, 0.0, 0, p_incorrect=1.0, n_labels=4)(
        tf.constant(_face()), tf.constant(eye[1]), tf.constant(True)
    )
    assert np.array_equal(target.numpy(), eye[2]) and not np.array_equal(image.numpy(), _face())
    _, target = synthetic(1.0, 0.0, 0, n_labels=4)(tf.constant(_face()), tf.constant(eye[1]), tf.constant(True))
    assert np.array_equal(target.numpy(), eye[0])


FACE = np.array([[100, 100, 160, 160]], np.float32)


def test_mined_boxes_keep_only_low_scored_boxes_clear_of_every_face():
    from facemask.training.not_face import mined_boxes

    boxes = np.array(
        [
            [300, 100, 340, 140],  # clear, scored 0.2: kept
            [300, 200, 340, 240],  # clear but scored 0.6 (likely an unannotated face): dropped
            [300, 300, 340, 340],  # clear but scored 0.05, under the floor: dropped
            [110, 110, 150, 150],  # on the face: dropped
            [140, 140, 200, 200],  # touches the face (IoU 0.06), neither centre in the other: kept
            [120, 80, 190, 140],  # its centre (155, 110) lies inside the face: dropped
            [80, 80, 140, 140],  # holds the face's centre (130, 130): dropped
            [400, 100, 420, 120],  # 20 px, too small: dropped
        ],
        np.float32,
    )
    score = np.array([0.2, 0.6, 0.05, 0.2, 0.2, 0.2, 0.2, 0.2], np.float32)
    kept = mined_boxes(boxes, score, FACE)
    assert kept.tolist() == [[300, 100, 340, 140], [140, 140, 200, 200]]


def test_beside_boxes_stay_inside_the_picture_and_off_the_face():
    from facemask.core.boxes import iou_matrix
    from facemask.training.not_face import beside_boxes

    rng = np.random.default_rng(0)
    shifted = np.concatenate([beside_boxes(FACE, 400, 300, rng) for _ in range(30)])
    assert len(shifted) > 10
    assert (shifted[:, :2] >= 0).all() and (shifted[:, 2] <= 400).all() and (shifted[:, 3] <= 300).all()
    assert (iou_matrix(shifted, FACE) < 0.1).all()
    assert np.allclose(shifted[:, 2] - shifted[:, 0], 60) and np.allclose(shifted[:, 3] - shifted[:, 1], 60)
    # A face at the picture's top-left corner can only move right.
    corner = np.concatenate([beside_boxes(np.array([[0, 0, 50, 50]], np.float32), 400, 300, rng) for _ in range(30)])
    assert (corner[:, 0] >= 40).all() and np.allclose(corner[:, 1], 0)


def test_not_face_cut_keeps_the_share_of_faces_asked():
    from facemask.training.classes import NOT_FACE, not_face_cut

    rng = np.random.default_rng(0)
    p_face = rng.uniform(0.0, 0.3, 1000)
    p_not = rng.uniform(0.2, 1.0, 100)
    probs = np.zeros((1100, 4))
    probs[:, NOT_FACE] = np.concatenate([p_face, p_not])
    y = np.r_[np.zeros(1000, int), np.full(100, NOT_FACE)]
    cut = not_face_cut(probs, y)
    assert (p_face < cut["threshold"]).mean() >= 0.995 > (p_face < cut["threshold"] - 0.002).mean()
    assert cut["kept_faces"] >= 0.995
    assert cut["rejected_not_faces"] == round(float((p_not >= cut["threshold"]).mean()), 4) > 0.8


def test_an_epoch_repeats_each_real_incorrect_mask_crop_and_nothing_else():
    from facemask.training.fit import repeated_rare

    labels = np.array([0, 1, 2, 0, 3, 2])
    order = repeated_rare(labels, 3)
    assert sorted(order.tolist()) == [0, 1, 2, 2, 2, 3, 4, 5, 5, 5]
    assert repeated_rare(labels, 1).tolist() == [0, 1, 2, 3, 4, 5]
    assert repeated_rare(np.array([0, 1, 1]), 4).tolist() == [0, 1, 2]  # a two-class run is untouched
