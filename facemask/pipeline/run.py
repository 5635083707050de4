"""The one loop: source -> detect and classify -> track -> alerts -> draw -> sinks, on the main thread.

Every input kind is a `Source` that yields Frames (a video file in io/sources.py, a camera
or stream in io/streams.py; images and folders in io/images.py), so all of them run through
`Pipeline.run`; builder.build_pipeline assembles the stages. Decoding runs on the source's
reader thread (video) or in its `read()` (images); everything stateful (tracker, monitor,
sinks) runs here, so none of it needs locks. The tracker and the violation monitor plug in
through the small protocols below. The whole run sits in an ExitStack (a try/finally) that
closes every sink and the monitor and stops the source, whether the run ends, the source
dies, a sink fails or Ctrl-C arrives: a reader thread left running aborts the interpreter at exit.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Protocol

from facemask.core.config import check_detect_every
from facemask.core.types import Faces, Frame
from facemask.io.sources import Source
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.overlay import Overlay
from facemask.pipeline.runstats import RateMeter, RunStats, StageClock
from facemask.pipeline.stopsignals import Stopped, StopSignals
from facemask.sinks.base import Sink


class Tracker(Protocol):
    def update(self, faces: Faces, timestamp: float) -> Faces: ...
    def predict(self, timestamp: float) -> Faces: ...


class FrameMonitor(Protocol):
    """Per-frame observer such as the alerts stage (alerts.AlertStage): sees tracked faces, reports counters."""

    def update(self, frame: Frame, faces: Faces) -> list[dict]: ...
    def counters(self) -> dict: ...
    def summary(self) -> dict: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Pipeline:
    """The assembled stages; `run(source, sinks)` pushes every frame of any source through them.

    Built by builder.build_pipeline. A tracker and a monitor carry state from frame to frame
    and the monitor is closed when a run ends, so a tracked pipeline serves one run.
    """

    analyzer: FaceMaskAnalyzer
    tracker: Tracker | None = None
    monitor: FrameMonitor | None = None
    detect_every: int = 1
    overlay: Overlay = field(default_factory=Overlay)

    def __post_init__(self) -> None:
        check_detect_every(self.detect_every)  # before any caller starts a source for this pipeline

    def run(
        self, source: Source, sinks: Sequence[Sink] = (), max_frames: int | None = None, keep_on_stop: bool = True
    ) -> RunStats:
        """Process a started source until it ends, a sink asks to stop, `max_frames`, or a stop signal.

        Owns the source, the sinks and the monitor from here on: all are closed before returning
        or raising. A source error (truncated file, dead camera) is raised after the closing, so what
        was written so far stays valid; a run that fails before its first frame (an image alone that
        cannot be read) discards its outputs instead, since they would hold nothing. Ctrl-C, SIGTERM
        or SIGHUP end the run normally after the current frame (`interrupted`, with the signal in
        `stats.stop_signal`); with `keep_on_stop=False` (a batch worker, whose file is retried whole) a
        stopped run discards its outputs instead of closing them.
        """
        discard = []  # set when the run fails before its first frame, or stops unkept: outputs are discarded
        with ExitStack() as stack:
            signals = stack.enter_context(StopSignals())  # first in, last out: held while sinks close
            stack.callback(source.stop)
            for output in (*sinks, *([self.monitor] if self.monitor is not None else [])):
                stack.callback(lambda o=output: o.discard() if discard else o.close())
            run = _Run(self, sinks)
            start = perf_counter()
            try:
                run.loop(source, max_frames, signals)
            except (KeyboardInterrupt, Stopped):
                run.stats.stop_reason = "interrupted"
                run.stats.stop_signal = signals.received or signal.SIGINT
                if not keep_on_stop:
                    discard.append(True)
            except BaseException:
                if run.stats.frames == 0:
                    discard.append(True)
                raise
            finally:
                signals.settle()  # from here a signal is only noted: closing must not be cut short
                run.stats.wall_s = perf_counter() - start
                run.stats.dropped = source.dropped
        return run.stats


def _analyze(
    frame: Frame, analyzer: FaceMaskAnalyzer, tracker: Tracker | None, detect_now: bool, last: Faces, clock: StageClock
) -> Faces:
    """Detect and classify (or, between detections, let the tracker predict), then track."""
    if detect_now:
        faces = analyzer.analyze(frame.image, clock.lap)
        if tracker is not None:
            faces = tracker.update(faces, frame.timestamp)
    elif tracker is not None:
        faces = tracker.predict(frame.timestamp)
    else:
        faces = last
    clock.lap("track")
    return faces


class _Run:
    """The per-frame work of one `Pipeline.run`, with the state it carries from frame to frame."""

    def __init__(self, pipeline: Pipeline, sinks: Sequence[Sink]) -> None:
        self.pipeline, self.sinks = pipeline, sinks
        self.draw = any(s.needs_image for s in sinks)
        self.stats = RunStats()
        self.faces = Faces.empty()
        self.rate = RateMeter()  # frames out per second, as drawn on the overlay

    def loop(self, source: Source, max_frames: int | None, signals: StopSignals) -> None:
        stats = self.stats
        while max_frames is None or stats.frames < max_frames:
            clock = StageClock()
            with signals.waiting():
                frame = source.read()
            clock.lap("decode_wait")
            if frame is None:
                break
            self.step(frame, clock)
            self.rate.tick()
            if signals.received is not None:
                raise Stopped
            if any(s.wants_stop for s in self.sinks):
                stats.stop_reason = "user"
                break
        else:
            stats.stop_reason = "max_frames"
        if self.pipeline.monitor is not None:
            stats.summary = self.pipeline.monitor.summary()

    def step(self, frame: Frame, clock: StageClock) -> None:
        p = self.pipeline
        detect_now = self.stats.frames % p.detect_every == 0
        faces = self.faces = _analyze(frame, p.analyzer, p.tracker, detect_now, self.faces, clock)
        self.stats.detected_frames += detect_now
        monitor = p.monitor
        if monitor is not None:
            self.stats.events += len(monitor.update(frame, faces))
        clock.lap("alerts")
        if self.draw:
            lines = p.overlay.lines(self.rate.rate, monitor.counters() if monitor is not None else None)
            frame = replace(frame, image=p.overlay.draw(frame.image, faces, lines))
        clock.lap("draw")
        for sink in self.sinks:
            sink.write(frame, faces)
        clock.lap("write")
        self.stats.record(clock.times, faces)
