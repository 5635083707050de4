"""Training-time augmentation in tf.data, aimed at the errors seen on real photos.

Real-photo errors were coloured and patterned masks read as "No Mask" (hue rotation, channel
permutation, grayscale), half-hidden or cropped faces (random erasing, scale and aspect jitter) and
small blurry street faces (downscale-then-upscale, blur, JPEG artefacts).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import layers

from facemask import LABELS
from facemask.training.hard_negatives import draw_hard_negative
from facemask.training.synthetic_masks import draw_mask


def geometric_and_colour(seed: int) -> tf.keras.Sequential:  # type: ignore[name-defined]
    """Batch-level Keras layers on raw 0-255 pixels: flip, rotation, scale and aspect jitter, light."""
    import keras

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.06, fill_mode="reflect", seed=seed),
            # Independent height and width factors: scale and aspect ratio both jitter.
            layers.RandomZoom((-0.25, 0.15), (-0.25, 0.15), fill_mode="reflect", seed=seed),
            layers.RandomTranslation(0.08, 0.08, fill_mode="reflect", seed=seed),
            layers.RandomBrightness(0.25, value_range=(0, 255), seed=seed),
            layers.RandomContrast(0.3, seed=seed),
        ],
        name="augment",
    )


def _gaussian_kernel(sigma: tf.Tensor, size: int = 5) -> tf.Tensor:
    x = tf.range(size, dtype=tf.float32) - (size - 1) / 2
    k = tf.exp(-(x**2) / (2 * sigma**2))
    k = k / tf.reduce_sum(k)
    k2 = tf.tensordot(k, k, axes=0)
    return tf.tile(k2[:, :, None, None], [1, 1, 3, 1])


def _maybe(p: float, fn, image: tf.Tensor) -> tf.Tensor:
    return tf.cond(tf.random.uniform([]) < p, lambda: fn(image), lambda: image)


def _blur(image: tf.Tensor) -> tf.Tensor:
    sigma = tf.random.uniform([], 0.5, 1.5)
    return tf.nn.depthwise_conv2d(image[None], _gaussian_kernel(sigma), [1, 1, 1, 1], "SAME")[0]


def _down_up(image: tf.Tensor) -> tf.Tensor:
    """A small face upscaled: shrink to 12-50 % of the side, then back."""
    size = tf.shape(image)[:2]
    factor = tf.random.uniform([], 0.12, 0.5)
    small = tf.maximum(tf.cast(tf.cast(size, tf.float32) * factor, tf.int32), 8)
    return tf.image.resize(tf.image.resize(image, small, method="area"), size, method="bilinear")


def _hue(image: tf.Tensor) -> tf.Tensor:
    return tf.image.random_hue(image / 255.0, 0.5) * 255.0


def _permute_channels(image: tf.Tensor) -> tf.Tensor:
    return tf.gather(image, tf.random.shuffle(tf.range(3)), axis=-1)


def _grayscale(image: tf.Tensor) -> tf.Tensor:
    return tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image))


def _erase(image: tf.Tensor) -> tf.Tensor:
    """Random erasing: a rectangle of 5-20 % of the area filled with one random colour."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    area = tf.random.uniform([], 0.05, 0.2) * tf.cast(h * w, tf.float32)
    aspect = tf.exp(tf.random.uniform([], -0.8, 0.8))
    eh = tf.clip_by_value(tf.cast(tf.sqrt(area * aspect), tf.int32), 1, h)
    ew = tf.clip_by_value(tf.cast(tf.sqrt(area / aspect), tf.int32), 1, w)
    y0 = tf.random.uniform([], 0, h - eh + 1, tf.int32)
    x0 = tf.random.uniform([], 0, w - ew + 1, tf.int32)
    inside = tf.pad(tf.ones([eh, ew, 1]), [[y0, h - y0 - eh], [x0, w - x0 - ew], [0, 0]])
    return image * (1 - inside) + inside * tf.random.uniform([1, 1, 3], 0, 255)


def per_image(image: tf.Tensor) -> tf.Tensor:
    """Per-image degradations and colour changes, uint8 in, float32 0-255 out."""
    image = _maybe(0.25, lambda x: tf.image.random_jpeg_quality(x, 25, 80), image)
    image = tf.cast(image, tf.float32)
    image = _maybe(0.2, _down_up, image)
    image = _maybe(0.15, _blur, image)
    image = _maybe(0.3, _hue, image)
    image = _maybe(0.15, _permute_channels, image)
    image = _maybe(0.1, _grayscale, image)
    image = _maybe(0.3, _erase, image)
    return tf.clip_by_value(image, 0.0, 255.0)


def synthetic(p_mask: float, p_negative: float, seed: int, p_incorrect: float = 0.0, n_labels: int = len(LABELS)):
    """A tf.data map over (uint8 crop, target, eligible): synthetic masks and look-alikes on no-mask crops.

    An eligible crop (labelled `no_mask`, not a teacher-only one) gets a drawn mask with probability
    `p_mask`, and its target becomes a one-hot "mask"; otherwise a look-alike with probability
    `p_negative`, its target kept; otherwise, with probability `p_incorrect`, a mask worn below the
    nose or on the chin, and the target "incorrect_mask" (label 2 of `n_labels` >= 3). Other crops pass unchanged.
    """
    rng = np.random.default_rng(seed)
    eye = np.eye(n_labels, dtype=np.float32)
    targets = tf.constant(np.stack([eye[LABELS.index("mask")], eye[min(2, n_labels - 1)]]))

    def draw(crop: np.ndarray, eligible: np.bool_) -> tuple[np.ndarray, np.int32]:
        roll = rng.random()
        if not eligible or roll >= p_mask + p_negative + p_incorrect:
            return crop, np.int32(-1)
        if roll < p_mask:
            return draw_mask(crop, rng), np.int32(0)
        if roll < p_mask + p_negative:
            return draw_hard_negative(crop, rng), np.int32(-1)
        placement = "below_nose" if rng.random() < 0.6 else "chin"
        return draw_mask(crop, rng, placement=placement), np.int32(1)

    def apply(crop: tf.Tensor, target: tf.Tensor, eligible: tf.Tensor):
        image, drawn = tf.numpy_function(draw, [crop, eligible], [tf.uint8, tf.int32], stateful=True)
        image.set_shape(crop.shape)  # numpy_function outputs have unknown shapes; batching needs them
        drawn.set_shape(())
        return image, tf.where(drawn >= 0, tf.gather(targets, tf.maximum(drawn, 0)), target)

    return apply
