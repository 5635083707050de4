"""Synthetic masks change the lower face and never the eyes; look-alikes keep the no-mask label."""

from __future__ import annotations

import numpy as np
import pytest

from facemask import LABELS
from facemask.training.hard_negatives import NEGATIVE_KINDS, draw_hard_negative
from facemask.training.synthetic_masks import CANONICAL, MASK_STYLES, draw_mask

SIZE = 96


def _face(seed: int = 0) -> np.ndarray:
    """A skin-toned square with some texture, so any drawing shows against it."""
    rng = np.random.default_rng(seed)
    face = np.empty((SIZE, SIZE, 3), np.uint8)
    face[:] = (205, 160, 130)
    return np.clip(face + rng.integers(-6, 6, face.shape), 0, 255).astype(np.uint8)


def _region(image: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    x, y = (np.asarray(centre) * SIZE).astype(int)
    r = int(radius * SIZE)
    return image[y - r : y + r + 1, x - r : x + r + 1]


def _changed(a: np.ndarray, b: np.ndarray, centre: tuple[float, float], radius: float) -> float:
    """Share of pixels in a square around `centre` (crop fractions) that differ."""
    return float(np.mean(np.any(_region(a, centre, radius) != _region(b, centre, radius), axis=-1)))


LANDMARK_SETS = {
    "canonical": CANONICAL,
    "turned": CANONICAL + np.array([[0.03, 0], [0.03, 0], [0.1, 0], [0.07, 0], [0.07, 0]], np.float32),
    "tilted": CANONICAL + np.array([[0, -0.03], [0, 0.03], [0, 0], [0, -0.02], [0, 0.02]], np.float32),
}


@pytest.mark.parametrize("style", MASK_STYLES)
@pytest.mark.parametrize("pose", sorted(LANDMARK_SETS))
def test_mask_covers_nose_and_mouth_not_eyes(style, pose):
    landmarks = LANDMARK_SETS[pose]
    face = _face()
    rng = np.random.default_rng(1)
    masked = draw_mask(face, rng, landmarks, style)
    assert masked.shape == face.shape and masked.dtype == np.uint8
    for eye in landmarks[:2]:
        assert _changed(face, masked, tuple(eye), 0.05) == 0.0  # the eyes are untouched
    mouth = tuple(landmarks[3:].mean(axis=0))
    assert _changed(face, masked, mouth, 0.05) > 0.9  # the mouth is covered
    assert _changed(face, masked, tuple(landmarks[2]), 0.03) > 0.9  # and the nose tip


def test_masks_vary_without_landmarks():
    """With no landmarks the canonical ones are jittered, and styles and colours vary between draws."""
    face = _face()
    rng = np.random.default_rng(2)
    draws = [draw_mask(face, rng) for _ in range(12)]
    mouth = tuple(CANONICAL[3:].mean(axis=0))
    assert all(_changed(face, d, mouth, 0.04) > 0.9 for d in draws)
    assert all(_changed(face, d, tuple(eye), 0.04) == 0.0 for d in draws for eye in CANONICAL[:2])
    colours = {tuple(np.round(_region(d, mouth, 0.03).reshape(-1, 3).mean(axis=0) / 16)) for d in draws}
    assert len(colours) >= 6


@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_look_alikes_change_the_lower_face_only(kind):
    face = _face()
    rng = np.random.default_rng(3)
    changed = draw_hard_negative(face, rng, CANONICAL, kind)
    for eye in CANONICAL[:2]:
        assert _changed(face, changed, tuple(eye), 0.05) == 0.0
    lower = changed[int(0.62 * SIZE) :]
    assert np.any(lower != face[int(0.62 * SIZE) :])
    if kind in ("hand", "pacifier"):  # over the mouth, the nose left bare (a mask would cover it)
        assert _changed(face, changed, tuple(CANONICAL[2]), 0.02) == 0.0


def test_pipeline_relabels_drawn_masks_and_keeps_look_alikes_no_mask():
    """The tf.data map: eligible no-mask crops become `mask` targets with a drawn mask; others keep theirs."""
    tf = pytest.importorskip("tensorflow")
    from facemask.training.augment import synthetic

    onehot = np.eye(len(LABELS), dtype=np.float32)
    no_mask, mask = onehot[LABELS.index("no_mask")], onehot[LABELS.index("mask")]
    crop = tf.constant(_face())

    def run(p_mask, p_negative, target, eligible):
        image, out = synthetic(p_mask, p_negative, seed=0)(crop, tf.constant(target), tf.constant(eligible))
        return image.numpy(), out.numpy()

    image, target = run(1.0, 0.0, no_mask, True)
    assert np.array_equal(target, mask) and not np.array_equal(image, crop.numpy())
    image, target = run(0.0, 1.0, no_mask, True)
    assert np.array_equal(target, no_mask) and not np.array_equal(image, crop.numpy())
    soft = np.array([0.3, 0.7], np.float32)  # a teacher-only crop, or a mask crop: never drawn on
    for target_in in (soft, mask):
        image, target = run(1.0, 0.0, target_in, False)
        assert np.array_equal(target, target_in) and np.array_equal(image, crop.numpy())
    image, target = run(0.0, 0.0, no_mask, True)
    assert np.array_equal(target, no_mask) and np.array_equal(image, crop.numpy())


def test_shares_must_fit_in_one():
    from facemask.core.errors import FacemaskError
    from facemask.training.config import TrainConfig

    assert TrainConfig(datasets=(), synthetic_masks=0.25, hard_negatives=0.1).synthetic_masks == 0.25
    with pytest.raises(FacemaskError, match="summing to at most 1"):
        TrainConfig(datasets=(), synthetic_masks=0.8, hard_negatives=0.5)
