"""EfficientNet-Lite0 in Keras 3, and the mapping of its PyTorch ImageNet state dict onto it.

Lite0 is EfficientNet-B0 made for integer accelerators: ReLU6 instead of swish, no squeeze-excite,
and the stem (32) and head (1280) kept at their B0 widths. TF-style "same" padding is what Keras'
`padding="same"` does, so the converted weights give the same outputs. The PyTorch names are
confusing: at the top level `_bn0`/`_bn1` are the stem and head norms, inside a block they are the
expand and depthwise norms; block 0 has no expand stage.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from facemask.core.errors import FacemaskError

BN_EPSILON = 1e-3
STEM, HEAD = 32, 1280
# (expand ratio, output channels, repeats, kernel, first stride): the B0 stages.
STAGES = ((1, 16, 1, 3, 1), (6, 24, 2, 3, 2), (6, 40, 2, 5, 2), (6, 80, 3, 3, 2), (6, 112, 3, 5, 1), (6, 192, 4, 5, 2))
STAGES += ((6, 320, 1, 3, 1),)
INPUT_MEAN, INPUT_STD = 127.0, 128.0  # the TF-Lite checkpoints take (x - 127) / 128 on RGB


def _init() -> keras.initializers.Initializer:
    """EfficientNet's He-style start for --weights none; with Keras' default (Glorot, which counts a depthwise kernel's
    channels as its fan-in) activations shrank to ~1e-12 over the 16 blocks, and nothing could train."""
    return keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")


def _block_args() -> list[tuple[int, int, int, int]]:
    """(expand, channels, kernel, stride) for each of the 16 blocks."""
    return [(e, c, k, s if r == 0 else 1) for e, c, n, k, s in STAGES for r in range(n)]


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, bn: str, relu: bool = True):
    x = layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, kernel_initializer=_init(), name=name
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn)(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x


def _mbconv(x, index: int, expand: int, filters: int, kernel: int, stride: int):
    """Inverted residual: 1x1 expand, depthwise, 1x1 project; a skip when the shape is unchanged."""
    inputs, channels, p = x, x.shape[-1], f"block{index}_"
    if expand != 1:
        x = _conv_bn(x, channels * expand, 1, 1, p + "expand_conv", p + "expand_bn")
    x = layers.DepthwiseConv2D(
        kernel, strides=stride, padding="same", use_bias=False, depthwise_initializer=_init(), name=p + "dwconv"
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=p + "dw_bn")(x)
    x = layers.ReLU(6.0, name=p + "dw_relu")(x)
    x = _conv_bn(x, filters, 1, 1, p + "project_conv", p + "project_bn", relu=False)
    if stride == 1 and channels == filters:
        x = layers.Add(name=p + "add")([x, inputs])
    return x


def lite0_backbone(input_size: int) -> keras.Model:
    """Lite0 features (before pooling) from inputs already scaled to (x - 127) / 128."""
    inputs = keras.Input((input_size, input_size, 3), name="scaled_rgb")
    x = _conv_bn(inputs, STEM, 3, 2, "stem_conv", "stem_bn")
    for i, (expand, filters, kernel, stride) in enumerate(_block_args()):
        x = _mbconv(x, i, expand, filters, kernel, stride)
    x = _conv_bn(x, HEAD, 1, 1, "head_conv", "head_bn")
    return keras.Model(inputs, x, name="efficientnet_lite0")


def input_scaling() -> layers.Rescaling:
    """Raw 0-255 RGB to what the pretrained weights expect, inside the model."""
    return layers.Rescaling(1 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD, name="scale")


def _name_pairs() -> list[tuple[str, str, str]]:
    """(keras layer, torch prefix, kind) for every layer with weights; kind is conv, dw or bn."""
    pairs = [("stem_conv", "_conv_stem", "conv"), ("stem_bn", "_bn0", "bn")]
    for i, (expand, *_rest) in enumerate(_block_args()):
        t, k = f"_blocks.{i}.", f"block{i}_"
        if expand != 1:
            pairs += [(k + "expand_conv", t + "_expand_conv", "conv"), (k + "expand_bn", t + "_bn0", "bn")]
        pairs += [(k + "dwconv", t + "_depthwise_conv", "dw"), (k + "dw_bn", t + "_bn1", "bn")]
        pairs += [(k + "project_conv", t + "_project_conv", "conv"), (k + "project_bn", t + "_bn2", "bn")]
    return pairs + [("head_conv", "_conv_head", "conv"), ("head_bn", "_bn1", "bn")]


def _keras_weights(state: dict[str, np.ndarray], prefix: str, kind: str) -> list[np.ndarray]:
    if kind == "bn":
        return [state[f"{prefix}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")]
    w = state[f"{prefix}.weight"]
    # Convolutions: torch (out, in, kh, kw) -> keras (kh, kw, in, out); depthwise: (C, 1, kh, kw) -> (kh, kw, C, 1).
    return [w.transpose(2, 3, 1, 0) if kind == "conv" else w.transpose(2, 3, 0, 1)]


def load_lite0_weights(backbone: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy the PyTorch state dict into `backbone`; every backbone tensor must be used, shapes must match."""
    used = set()
    try:
        for layer_name, prefix, kind in _name_pairs():
            layer = backbone.get_layer(layer_name)
            arrays = _keras_weights(state, prefix, kind)
            expected = [tuple(w.shape) for w in layer.get_weights()]
            if [a.shape for a in arrays] != expected:
                raise ValueError(f"{prefix}: shapes {[a.shape for a in arrays]}, the layer takes {expected}")
            layer.set_weights(arrays)
            used |= {k for k in state if k.startswith(prefix + ".") and not k.endswith("num_batches_tracked")}
    except (KeyError, ValueError) as exc:
        raise FacemaskError(f"EfficientNet-Lite0 weights do not fit the network ({exc})") from None
    unused = {k for k in state if not k.startswith("_fc.") and not k.endswith("num_batches_tracked")} - used
    if unused:
        raise FacemaskError(f"EfficientNet-Lite0 weights have tensors the network lacks: {sorted(unused)[:5]}")
