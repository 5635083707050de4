"""facemask: real-time face-mask detection on a plain CPU."""

from __future__ import annotations

__version__ = "0.1.0"

LABELS: tuple[str, str] = ("mask", "no_mask")
"""A two-class model's labels, in its card's order."""
FACE_LABELS: tuple[str, str, str] = ("mask", "no_mask", "incorrect_mask")
"""Every label a face can have (`Faces.class_prob`'s columns); a two-class model never reads the third."""
NOT_FACE = "not_face"
"""A four-class model's last output: the crop is no face (`Faces.face_prob` = 1 - its probability)."""
VIOLATING: dict[str, tuple[str, ...]] = {"any": ("no_mask", "incorrect_mask"), "no_mask": ("no_mask",)}
"""`--violation-on`: the smoothed labels that count toward a violation (`any`, the default: no mask or one worn
wrong; `no_mask`: no mask only). Every label but `mask` is not compliant either way."""
