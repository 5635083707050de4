"""The tracked video stages every caller runs (CLI, benchmark, web page), assembled in one place.

So the detection cadence, the tracker, the violation monitor and the panel's wording cannot
drift apart between `facemask detect`, `facemask benchmark` and the app's clips.
"""

from __future__ import annotations

from pathlib import Path

from facemask.alerts import AlertStage, counter_lines
from facemask.config import AlertConfig, TrackerConfig
from facemask.pipeline import Overlay
from facemask.tracker import FaceTracker


def video_stages(
    tracking: bool = True,
    alerts: AlertConfig | None = None,
    snapshot_dir: Path | None = None,
    detect_every: int = TrackerConfig.detect_every,
) -> dict:
    """Keyword arguments for `run_video`: tracker, monitor (an AlertStage; None with `alerts=None`), cadence, overlay.

    Without tracking there is no monitor either: alerts follow tracks.
    """
    return {
        "tracker": FaceTracker(TrackerConfig(detect_every=detect_every)) if tracking else None,
        "monitor": AlertStage(alerts, snapshot_dir) if (tracking and alerts is not None) else None,
        "detect_every": detect_every,
        "overlay": Overlay(counter_lines=counter_lines),
    }
