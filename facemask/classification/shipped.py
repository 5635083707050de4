"""The shipped mask classifiers by name: light (no numpy), so `--help` can list them."""

from __future__ import annotations

SHIPPED = {
    "default": ("mask_lite0.tflite", "lite0: the most accurate single network on the held-out scene crops"),
    "lite0": ("mask_lite0.tflite", "EfficientNet-Lite0, ImageNet-pretrained, fine-tuned at 112 px, int8, 4 MB"),
    "lite": ("mask_lite.tflite", "one light CNN under 1 MB, 112 px, distilled from the mean"),
    "ensemble": ("mask_default.json", "the calibrated mean of resnet50, lite112 and lite128"),
    "resnet50": ("mask_resnet50.tflite", "ResNet50, 96 px (a member of the mean)"),
    "lite112": ("mask_lite112.tflite", "the earlier lite, 112 px (a member of the mean)"),
    "lite128": ("mask_lite128.tflite", "the first lite, 128 px, folder set only (a member of the mean)"),
    "lite0_three": (
        "mask_lite0_three.tflite",
        "lite0 with a third label, mask below the nose, and a not-a-face output; 4 MB (finds half of such masks)",
    ),
}
MEAN_MEMBERS = ("resnet50", "lite112", "lite128")  # the shipped mean's members, in its card's order


def shipped_names() -> str:
    """`default, ensemble, lite, ...`: for help texts and errors."""
    return ", ".join(SHIPPED)


def shipped_help() -> str:
    """One clause per shipped model, for `--model`'s help."""
    return "; ".join(f"{name}: {what}" for name, (_, what) in SHIPPED.items())
