"""facemask: real-time face-mask detection on a plain CPU."""

from __future__ import annotations

__version__ = "0.1.0"

LABELS: tuple[str, str] = ("mask", "no_mask")
