"""One frozen dataclass per concern; the CLI builds them, the stages only read them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DetectorConfig:
    """Face detector settings. `mode` picks a preset: `fast` for video, `accurate` for images."""

    confidence: float = 0.5
    mode: str = "fast"
    model_dir: Path | None = None
    nms_iou: float = 0.4
    min_size: int = 8

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"face confidence must be in (0, 1), got {self.confidence}")
        if self.mode not in ("fast", "accurate"):
            raise ValueError(f"detector mode must be 'fast' or 'accurate', got {self.mode!r}")


@dataclass(frozen=True)
class ClassifierConfig:
    """Which mask classifier to load: a shipped name (`default`, `lite`) or a path."""

    model: str = "default"
    threshold: float | None = None
    threads: int = 2


@dataclass(frozen=True)
class TrackerConfig:
    """Association and smoothing. Times are in seconds so they hold at any frame rate."""

    iou_threshold: float = 0.3
    max_missed_s: float = 0.6
    smoothing_alpha: float = 0.35
    hysteresis: float = 0.15
    detect_every: int = 1


@dataclass(frozen=True)
class AlertConfig:
    """Debounced violation alerts."""

    events_path: Path | None = None
    min_no_mask_s: float = 1.0
    rearm_mask_s: float = 1.0
    beep: bool = False
    on_violation: str | None = None


@dataclass(frozen=True)
class OutputConfig:
    """Where results go: window, annotated file(s), JSON."""

    display: bool = True
    output: Path | None = None
    json_path: Path | None = None
    realtime: bool = False
    summary_path: Path | None = None
