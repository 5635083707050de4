"""The files one video run writes (annotated video, JSON Lines, summary), opened in one place.

`facemask detect FILE` and every file of `facemask batch` get their outputs here, so a batch's
per-file JSON Lines and summary are what a single `detect --json ... --summary ...` run writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facemask.io.safeio import write_text
from facemask.sinks.base import JsonlSink, Sink, VideoFileSink


@dataclass(frozen=True)
class VideoOutputs:
    """Where a video run writes; None: not written."""

    video: Path | None = None
    jsonl: Path | None = None
    summary: Path | None = None

    def sinks(self, fps: float, between: Sequence[Sink] = ()) -> list[Sink]:
        """The video file, `between` (a window), then JSON Lines: the sinks that only check their arguments
        come first and the one that opens a file last, so a failing constructor leaves nothing open."""
        sinks: list[Sink] = []
        if self.video is not None:
            sinks.append(VideoFileSink(self.video, fps))
        sinks.extend(between)
        if self.jsonl is not None:
            sinks.append(JsonlSink(self.jsonl))
        return sinks


def write_summary(path: Path, summary: dict) -> None:
    """The end-of-run summary (`RunStats.summary`, the monitor's), or a multi-source run's document of them and
    their totals, as JSON, written atomically: every summary file `detect` and `batch` write is written here."""
    write_text(path, json.dumps(summary, indent=1, default=str))
