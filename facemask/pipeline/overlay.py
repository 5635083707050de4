"""The annotated picture every image output shares: boxes and labels, then a status panel.

Drawn once a frame by the pipeline, on a copy, and only when some output shows pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from facemask.core.labels import compliance_text
from facemask.core.types import Faces
from facemask.pipeline.annotate import FaceAnnotator, TextPanel


def format_counters(counters: dict) -> list[str]:
    """Any monitor's counters on one line, e.g. `People 3  Violations 1  Compliance rate 67%`."""
    parts = []
    for key, value in counters.items():
        if value is None or (isinstance(value, float) and ("rate" in key or "compliance" in key)):
            value = compliance_text(value)  # a rate as compliance is worded: 67%, or - while unknown
        parts.append(f"{key.replace('_', ' ').capitalize()} {value}")
    return ["  ".join(parts)] if parts else []


@dataclass(frozen=True)
class Overlay:
    """Boxes and labels, then a status panel (FPS and the monitor's counters).

    `counter_lines` turns the monitor's counters into panel lines; a monitor module can pass
    its own wording (e.g. `alerts.counter_lines`). `status=False` leaves the panel out: a
    still image has no frame rate and no counters.
    """

    annotator: FaceAnnotator = field(default_factory=FaceAnnotator)
    panel: TextPanel = field(default_factory=TextPanel)
    counter_lines: Callable[[dict], list[str]] = format_counters
    status: bool = True

    def lines(self, fps: float | None, counters: dict | None) -> list[str]:
        """`FPS 12.3`, then the counters; none without the status panel."""
        if not self.status:
            return []
        return ([f"FPS {fps:.1f}"] if fps else []) + (self.counter_lines(counters) if counters else [])

    def draw(self, image: np.ndarray, faces: Faces, lines: list[str]) -> np.ndarray:
        avoid = [self.panel.extent(image.shape, lines)] if lines else []  # box labels keep clear of the panel
        out = self.annotator.annotate(image, faces, avoid)  # a fresh copy: the panel may draw on it
        return self.panel.annotate(out, lines, copy=False) if lines else out
