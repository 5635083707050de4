"""Training-time augmentation in tf.data: geometry, light, blur and JPEG artefacts."""
from __future__ import annotations

import tensorflow as tf
from keras import layers


def geometric_and_colour(seed: int) -> tf.keras.Sequential:  # type: ignore[name-defined]
    """Batch-level Keras layers on raw 0-255 pixels."""
    import keras

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.06, fill_mode="reflect", seed=seed),
            layers.RandomZoom((-0.15, 0.1), fill_mode="reflect", seed=seed),
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


def degrade(image: tf.Tensor) -> tf.Tensor:
    """Per-image: sometimes blur, sometimes re-encode as a low-quality JPEG (uint8 in, uint8 out)."""
    r = tf.random.uniform([2])
    image = tf.cond(
        r[0] < 0.25,
        lambda: tf.image.random_jpeg_quality(image, 25, 80),
        lambda: image,
    )

    def blur() -> tf.Tensor:
        sigma = tf.random.uniform([], 0.5, 1.5)
        x = tf.cast(image, tf.float32)[None]
        y = tf.nn.depthwise_conv2d(x, _gaussian_kernel(sigma), [1, 1, 1, 1], "SAME")[0]
        return tf.cast(tf.clip_by_value(tf.round(y), 0, 255), tf.uint8)

    return tf.cond(r[1] < 0.2, blur, lambda: image)
