"""The web page's settings: what its sidebar offers and what it returns.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be used directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MODEL_ENV = "FACEMASK_APP_MODEL"


@dataclass(frozen=True)
class Settings:
    """Everything in the sidebar; hashable, so it can key caches and remembered results."""

    model: str
    face_confidence: float
    mask_threshold: float
    max_mb: int
    max_clip_s: float
    blur: bool = False  # faces blurred in the annotated photos, clip and snapshots


def model_choices() -> list[str]:
    override = os.environ.get(MODEL_ENV, "").strip()
    return ([override] if override else []) + ["default", "ensemble", "resnet50"]
