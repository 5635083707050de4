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
    """Where a video run writes; None: not written. `source`: the source's name on each JSON line (several
    sources in one run)."""

    video: Path | None = None
    jsonl: Path | None = None
    summary: Path | None = None
    source: str | None = None

    def sinks(self, fps: float, between: Sequence[Sink] = (), events: Sink | None = None) -> list[Sink]:
        """`events` (the events output, already open: it writes first), the video file, `between` (a window),
        then JSON Lines: the sinks that only check their arguments come before the one that opens a file, so
        a failing constructor leaves nothing open (`events` discarded)."""
        sinks: list[Sink] = [events] if events is not None else []
        try:
            if self.video is not None:
                sinks.append(VideoFileSink(self.video, fps))
            sinks.extend(between)
            if self.jsonl is not None:
                sinks.append(JsonlSink(self.jsonl, source=self.source))
        except BaseException:
            if events is not None:
                events.discard()
            raise
        return sinks


def write_summary(path: Path, summary: dict) -> None:
    """The end-of-run summary (`RunStats.summary`, the monitor's), or a multi-source run's document of them and
    their totals, as JSON, written atomically: every summary file `detect` and `batch` write is written here."""
    write_text(path, json.dumps(summary, indent=1, default=str))
