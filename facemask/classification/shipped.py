"""The shipped mask classifiers by name: light (no numpy), so `--help` can list them."""

from __future__ import annotations

SHIPPED = {
    "default": ("mask_default.json", "the calibrated mean of resnet50, lite and lite128"),
    "resnet50": ("mask_resnet50.tflite", "ResNet50, 96 px"),
    "lite": ("mask_lite.tflite", "light separable CNN under 1 MB, 112 px"),
    "lite128": ("mask_lite128.tflite", "the earlier lite, 128 px, folder set only"),
}


def shipped_names() -> str:
    """`default, resnet50, lite, lite128`: for help texts and errors."""
    return ", ".join(SHIPPED)


def shipped_help() -> str:
    """One clause per shipped model, for `--model`'s help."""
    return "; ".join(f"{name}: {what}" for name, (_, what) in SHIPPED.items())
