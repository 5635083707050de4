"""Outputs that report on a run rather than its results: progress, a printed line per frame, and memory.

Each is a `Sink`, so the pipeline hands it every frame like any other output; none needs
the annotated picture except `MemorySampleSink`, which makes the pipeline draw as a window would.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from facemask.core.types import Faces, Frame
from facemask.sinks.base import Sink

Report = Callable[[float, str], None]


class ProgressBarSink(Sink):
    """A video run's progress bar on stderr (tqdm): frames done of the file's announced count."""

    needs_image = False

    def __init__(self, total: int | None, desc: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, dynamic_ncols=True)

    def write(self, frame: Frame, faces: Faces) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class CallbackProgressSink(Sink):
    """Calls `report(fraction done, text)` after each frame (the web page's progress bar); draws nothing."""

    needs_image = False

    def __init__(self, total: int, report: Report) -> None:
        self.total, self.report = max(1, total), report

    def write(self, frame: Frame, faces: Faces) -> None:
        done = frame.index + 1
        self.report(min(1.0, done / self.total), f"Frame {done} of {self.total}")


class LinesSink(Sink):
    """One printed line per frame, `describe(frame, faces)`, through `print_line(text, file=...)`.

    An image batch passes its progress bar's `write`, so the lines land above the bar.
    """

    needs_image = False

    def __init__(self, print_line: Callable[..., None], describe: Callable[[Frame, Faces], str], file: TextIO) -> None:
        self.print_line, self.describe, self.file = print_line, describe, file

    def write(self, frame: Frame, faces: Faces) -> None:
        self.print_line(self.describe(frame, faces), file=self.file)


def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux); 0 where unavailable."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemorySampleSink(Sink):
    """Samples memory and threads every `every` frames (benchmarks); asks the pipeline to draw each frame, as a
    window would, so the drawing is timed and measured too."""

    needs_image = True

    def __init__(self, every: int = 100) -> None:
        self.every, self.count, self.threads = every, 0, 0
        self.rss: list[float] = []

    def write(self, frame: Frame, faces: Faces) -> None:
        if self.count % self.every == 0:
            self.rss.append(round(rss_mb(), 1))
            self.threads = max(self.threads, threading.active_count())
        self.count += 1
