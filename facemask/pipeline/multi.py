"""Several sources in one process: one lane per source, one detector and one classifier for all.

Each source keeps what a single-source run has (its tracker, monitor, outputs and counts);
the models are loaded once and shared, and each tick the faces of every stream go through the
classifier in one batch (run.run_lanes). A source that dies is reported through `on_error`
and closed, its outputs complete; the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from facemask.io.sources import Source
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.mosaic import MosaicWindow
from facemask.pipeline.run import ErrorHandler, Pipeline, run_lanes
from facemask.pipeline.runstats import RunStats
from facemask.sinks.base import Sink


@dataclass(frozen=True)
class SourceRun:
    """One source of a multi-source run: its name, its pipeline (shared models), the started source, its outputs."""

    name: str
    pipeline: Pipeline
    source: Source
    sinks: Sequence[Sink] = ()


def shared_analyzer(pipelines: Sequence[Pipeline]) -> FaceMaskAnalyzer:
    """The one analyzer of several pipelines built on the same detector and classifier instances."""
    first = pipelines[0].analyzer
    for p in pipelines[1:]:
        if p.analyzer.detector is not first.detector or p.analyzer.classifier is not first.classifier:
            raise ValueError("the sources of one run must share one detector and one classifier instance")
    return first


def run_sources(
    runs: Sequence[SourceRun],
    max_frames: int | None = None,
    on_error: ErrorHandler | None = None,
    window: MosaicWindow | None = None,
) -> list[RunStats]:
    """Run every source to its end (or a stop for all); each one's RunStats, in order.

    Owns the sources, their outputs and the window from here on: all are closed before this
    returns or raises. With `window`, each source's picture is a tile of it, shown once a tick.
    """
    with ExitStack() as stack:
        if window is not None:
            stack.callback(window.close)
        lanes = [
            run.pipeline.lane(run.source, [*run.sinks, *([window.tile(i)] if window else [])], run.name, turn=i)
            for i, run in enumerate(runs)
        ]
        for lane in lanes:  # closed by run_lanes; this covers a refusal before it starts (no-op after)
            stack.callback(lane.close, True)
        analyzer = shared_analyzer([run.pipeline for run in runs])
        run_lanes(analyzer, lanes, max_frames, on_error, window.show if window else None)
    return [lane.stats for lane in lanes]
