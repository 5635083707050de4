"""Training augmentation keeps shapes and pixel range, and really changes colours and content."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")


def test_per_image_keeps_shape_and_range_and_varies():
    from facemask.training.augment import per_image

    tf.random.set_seed(0)
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :, 0] = 200  # a saturated colour, so hue and channel changes show
    outs = [per_image(tf.constant(image)).numpy() for _ in range(40)]
    assert all(o.shape == (64, 64, 3) and o.dtype == np.float32 for o in outs)
    assert all(o.min() >= 0 and o.max() <= 255 for o in outs)
    dominant = {int(np.argmax(o.reshape(-1, 3).mean(axis=0))) for o in outs}
    assert len(dominant) > 1  # hue rotation / channel permutation moved the colour
    assert sum(not np.allclose(o, image) for o in outs) >= 10


def test_geometric_layers_keep_batch_shape():
    from facemask.training.augment import geometric_and_colour

    batch = tf.random.uniform((4, 48, 48, 3), 0, 255)
    out = geometric_and_colour(0)(batch, training=True)
    assert tuple(out.shape) == (4, 48, 48, 3)
