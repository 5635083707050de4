"""The one loop: source -> detect and classify -> track -> alerts -> draw -> sinks, on the main thread.

Every input kind is a `Source` that yields Frames (a video file in io/sources.py, a camera
or stream in io/streams.py; images and folders in io/images.py), so all of them run through
`Pipeline.run`; builder.build_pipeline assembles the stages. Several sources in one process
(pipeline/multi.py) run through the same loop, `run_lanes`: one lane (pipeline/lane.py) per
source, one frame of each a tick, their faces classified in one batch. Decoding runs on the
source's reader thread (video) or in its `read()` (images); everything stateful (tracker,
monitor, sinks) runs here, so none of it needs locks. The whole run sits in an ExitStack (a
try/finally) that closes every sink (the events output among them) and stops every source, whether the run
ends, a source dies, a sink fails or Ctrl-C arrives: a reader thread left running aborts the
interpreter at exit.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from time import perf_counter

from facemask.core.config import check_detect_every
from facemask.core.errors import FacemaskError
from facemask.core.types import Frame
from facemask.io.sources import Source
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.blur import FaceBlur
from facemask.pipeline.lane import FrameMonitor, Lane, Tracker, ready_lanes
from facemask.pipeline.overlay import Overlay
from facemask.pipeline.runstats import RunStats, StageClock
from facemask.pipeline.stopsignals import Stopped, StopSignals
from facemask.sinks.base import Sink


@dataclass(frozen=True)
class Pipeline:
    """The assembled stages; `run(source, sinks)` pushes every frame of any source through them.

    Built by builder.build_pipeline, which opens no file: every output (the events one too) is the
    caller's, handed to `run`. A tracker and the alerts carry state from frame to frame, so a tracked
    pipeline serves one run.
    """

    analyzer: FaceMaskAnalyzer
    tracker: Tracker | None = None
    alerts: FrameMonitor | None = None  # the alert stage (alerts.AlertStage); its `.monitor` decides
    detect_every: int = 1
    overlay: Overlay = field(default_factory=Overlay)
    blur: FaceBlur | None = None  # faces blurred in every picture the run shows or saves (`--blur`)

    def __post_init__(self) -> None:
        check_detect_every(self.detect_every)  # before any caller starts a source for this pipeline

    def run(
        self,
        source: Source,
        sinks: Sequence[Sink] = (),
        max_frames: int | None = None,
        keep_on_stop: bool = True,
        stats: RunStats | None = None,
    ) -> RunStats:
        """Process a started source until it ends, a sink asks to stop, `max_frames`, or a stop signal.

        Owns the source and the sinks from here on: all are closed before returning
        or raising. A source error (truncated file, dead camera) is raised after the closing, so what
        was written so far stays valid; a run that fails before its first frame (an image alone that
        cannot be read) discards its outputs instead, since they would hold nothing. Ctrl-C, SIGTERM
        or SIGHUP end the run normally after the current frame (`interrupted`, with the signal in
        `stats.stop_signal`); with `keep_on_stop=False` (a batch worker, whose file is retried whole) a
        stopped or failed run discards its outputs instead of closing them. `stats`: the RunStats to fill,
        for a caller that reports a failed run's figures (its summary) before passing the error on.
        """
        lane = self.lane(source, sinks)
        if stats is not None:
            lane.stats = stats
        run_lanes(self.analyzer, [lane], max_frames, keep_on_stop=keep_on_stop)
        return lane.stats

    def lane(self, source: Source, sinks: Sequence[Sink] = (), name: str = "", turn: int = 0) -> Lane:
        """This pipeline's stages after detection, on one started source, into `sinks` (see run_lanes).

        `turn` staggers the detection cadence: lane i of a multi-source run is detected on the frames
        where the others are predicted, so the shared detector's load is even from tick to tick.
        """
        return Lane(
            source, sinks, self.tracker, self.alerts, self.overlay, self.detect_every, name, turn, blur=self.blur
        )


ErrorHandler = Callable[[Lane, FacemaskError], None]


def run_lanes(
    analyzer: FaceMaskAnalyzer,
    lanes: Sequence[Lane],
    max_frames: int | None = None,
    on_error: ErrorHandler | None = None,
    after_tick: Callable[[], None] | None = None,
    keep_on_stop: bool = True,
) -> None:
    """The one loop: each tick, one frame from every live lane, detected and classified together, then
    each lane's own stages. Every lane is closed before this returns or raises.

    `analyzer` is the one detector and classifier every lane shares. Without `on_error` a lane's
    FacemaskError (its source died, an output failed) ends the run and is raised; with it that
    lane alone ends (`error`), is closed and reported, and the others go on.
    `after_tick` runs once a tick after every lane has written (the mosaic window). A sink's
    `wants_stop` and a stop signal end every lane; `max_frames` counts per lane. With `keep_on_stop`
    False, a stop signal or an error discards every lane's outputs instead of closing them (a batch's
    file is all or nothing: a full disk leaves no shortened video under its name).
    """
    failed, unkept = [], []  # a failed run discards a lane's outputs if it has no frame yet; a stop unkept, all
    keep_failed = [] if keep_on_stop else failed  # unkept, a failed run discards them all too (a batch retries)
    with ExitStack() as stack:
        signals = stack.enter_context(StopSignals())  # first in, last out: held while outputs close
        for lane in lanes:
            stack.callback(
                lambda lane=lane: lane.close(failed=bool(failed) or lane.failed, discard=bool(unkept or keep_failed))
            )
        tick = _Tick(lanes, analyzer, max_frames, signals, on_error)
        try:
            while tick.step():
                if after_tick is not None:
                    after_tick()
                if signals.received is not None:
                    raise Stopped
                if any(lane.wants_stop for lane in lanes):
                    tick.end_all("user")
        except (KeyboardInterrupt, Stopped):
            for lane in tick.live:
                lane.stats.stop_signal = signals.received or signal.SIGINT
            tick.end_all("interrupted")
            if not keep_on_stop:
                unkept.append(True)
        except BaseException:
            failed.append(True)
            raise
        finally:
            signals.settle()  # from here a signal is only noted: closing must not be cut short
            for lane in lanes:
                lane.settle(tick.started)


class _Tick:
    """One pass over the live lanes a call, and which lanes are still live."""

    def __init__(
        self,
        lanes: Sequence[Lane],
        analyzer: FaceMaskAnalyzer,
        max_frames: int | None,
        signals: StopSignals,
        on_error: ErrorHandler | None,
    ) -> None:
        self.live = list(lanes)
        self.analyzer, self.max_frames, self.signals, self.on_error = analyzer, max_frames, signals, on_error
        self.started = perf_counter()

    def step(self) -> bool:
        """One frame from each live lane that has one ready, detected and classified in one go, then finished
        lane by lane. False once no lane is left.
        """
        clock = StageClock()
        frames = [(lane, frame) for lane in self._ready() if (frame := self._read(lane)) is not None]
        clock.lap("decode_wait")
        due = [lane.detect_due for lane, _ in frames]
        images = [frame.image for (_, frame), detect in zip(frames, due) if detect]
        found = iter(self.analyzer.analyze_split(images, clock.lap) if images else ())
        for (lane, frame), detect in zip(frames, due):
            faces, unsure = next(found) if detect else (None, None)
            self._guard(lane, lane.finish, frame, faces, clock.fork(), unsure)
        return bool(self.live)

    def _ready(self) -> list[Lane]:
        """The live lanes to read this tick: alone, a lane's read is the wait; with several, those ready."""
        lanes = [lane for lane in list(self.live) if not self._done(lane)]
        if len(lanes) < 2:
            return lanes
        with self.signals.waiting():
            return ready_lanes(lanes)

    def _done(self, lane: Lane) -> bool:
        if self.max_frames is not None and lane.stats.frames >= self.max_frames:
            self._end(lane, "max_frames")
            return True
        return False

    def _read(self, lane: Lane) -> Frame | None:
        with self.signals.waiting():
            frame = self._guard(lane, lane.source.read)
        if frame is None and lane.live:
            self._end(lane, "end")
        return frame

    def _guard(self, lane: Lane, call: Callable, *args):
        """`call(*args)`; with an error handler, a FacemaskError ends this lane alone and is reported."""
        try:
            return call(*args)
        except FacemaskError as exc:
            if self.on_error is None:
                raise
            self._end(lane, "error", failed=True)
            self.on_error(lane, exc)
            return None

    def _end(self, lane: Lane, reason: str, failed: bool = False) -> None:
        """End one lane; while others go on, close its outputs now, so its files are complete."""
        lane.end(reason, self.started)
        lane.failed = failed
        self.live.remove(lane)
        if not self.live:
            return  # the last one closes with the run, once signals are settled
        try:
            lane.close(failed)
        except FacemaskError as exc:
            if self.on_error is None:
                raise
            self.on_error(lane, exc)

    def end_all(self, reason: str) -> None:
        for lane in list(self.live):
            lane.end(reason, self.started)
        self.live.clear()
