"""One source's stages after detection: track, alerts, draw, write; and the outputs that source owns.

`Pipeline.run` drives one lane, a multi-source run (pipeline/multi.py) several, through the same
loop (run.run_lanes): the detector and classifier are shared, once a tick for every lane, and
everything that carries state from frame to frame (tracker, monitor, frame rate, counts) lives
here, one per source. A lane owns its source and its sinks: `close` stops and closes them, so one
source can end (or die) while the others go on. The monitor's events ride on the `Frame` to the
sinks (the events output among them), and so does the clean picture once the overlay has drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from time import perf_counter, sleep
from typing import Protocol

import numpy as np

from facemask.core.types import Faces, Frame
from facemask.io.sources import Source
from facemask.pipeline.blur import FaceBlur
from facemask.pipeline.overlay import Overlay
from facemask.pipeline.runstats import RateMeter, RunStats, StageClock
from facemask.sinks.base import Sink


class Tracker(Protocol):
    def update(self, faces: Faces, timestamp: float, image: np.ndarray | None = None) -> Faces: ...
    def predict(self, timestamp: float, image: np.ndarray | None = None) -> Faces: ...
    def held_boxes(self, timestamp: float, lead_s: float = 0.0) -> np.ndarray: ...


class FrameMonitor(Protocol):
    """Per-frame observer such as the alerts stage (alerts.AlertStage): sees tracked faces, decides the
    frame's events, reports counters."""

    def update(self, frame: Frame, faces: Faces) -> list[dict]: ...
    def counters(self) -> dict: ...
    def summary(self) -> dict: ...


class Lane:
    """The per-frame work of one source in a run, with the state it carries from frame to frame.

    `name` labels the source in a multi-source run. The picture is drawn only when some sink shows
    pixels (a video file, a window, a mosaic tile). With `blur`, faces are blurred right after tracking, so
    the alert stage (its snapshots) and every output get the blurred picture (see `hidden`).
    """

    def __init__(
        self,
        source: Source,
        sinks: Sequence[Sink],
        tracker: Tracker | None,
        alerts: FrameMonitor | None,
        overlay: Overlay,
        detect_every: int,
        name: str = "",
        turn: int = 0,
        blur: FaceBlur | None = None,
    ) -> None:
        self.source, self.sinks, self.name, self.turn, self.blur = source, sinks, name, turn, blur
        self.tracker, self.alerts, self.overlay, self.detect_every = tracker, alerts, overlay, detect_every
        self.draw = any(s.needs_image for s in sinks)
        self.stats = RunStats()
        self.faces = Faces.empty()
        self._previous_t: float | None = None  # the last frame's time: how far a face may move to this one
        self.rate = RateMeter()  # frames out per second, as drawn on the overlay
        self.live = True
        self.failed = False  # this lane ended on an error (a lane with no frame then discards its outputs)
        self._discard = False  # the outputs are thrown away, not committed (see close)
        self._owned = ExitStack()
        self._owned.callback(source.stop)
        for output in sinks:
            self._owned.callback(lambda o=output: o.discard() if self._discard else o.close())

    @property
    def detect_due(self) -> bool:
        """Whether this lane's next frame goes through the detector: its first, then every `detect_every`-th,
        shifted by its `turn` so that lanes sharing a detector take turns."""
        frames = self.stats.frames
        return frames == 0 or (frames + self.turn) % self.detect_every == 0

    @property
    def ready(self) -> bool:
        """Whether this lane's source hands over its next frame (or its end, or its error) without waiting.
        A source that cannot say (images, a test's fake) is always ready: its `read()` is the wait."""
        ready = getattr(self.source, "ready", None)
        return True if ready is None else ready()

    @property
    def wants_stop(self) -> bool:
        return any(s.wants_stop for s in self.sinks)

    def finish(self, frame: Frame, detected: Faces | None, clock: StageClock, unsure: np.ndarray | None = None) -> None:
        """Everything after detect and classify: track (or predict between detections), alerts, draw, write.

        `unsure`: the boxes the detector found below its cut, which the blur hides too (loader.detect_split).
        """
        faces = self.faces = self._track(frame, detected)
        if self.blur is not None:
            frame = replace(frame, image=self.blur.blur(frame.image, self.hidden(frame, faces, detected, unsure)))
        self._previous_t = frame.timestamp
        clock.lap("track")
        self.stats.detected_frames += detected is not None
        alerts = self.alerts
        if alerts is not None:
            events = alerts.update(frame, faces)
            self.stats.events += len(events)
            frame = replace(frame, events=tuple(events)) if events else frame
        clock.lap("alerts")
        if self.draw:
            lines = self.overlay.lines(self.rate.rate, alerts.counters() if alerts is not None else None)
            frame = replace(frame, image=self.overlay.draw(frame.image, faces, lines), clean=frame.image)
        clock.lap("draw")
        for sink in self.sinks:
            sink.write(frame, faces)
        clock.lap("write")
        self.stats.record(clock.times, faces)
        self.rate.tick()

    def hidden(self, frame: Frame, faces: Faces, detected: Faces | None, unsure: np.ndarray | None) -> np.ndarray:
        """What `--blur` covers on this frame: the union of every box drawn or written (`faces`), this frame's
        detections and the boxes below the detector's cut, and every face the tracker follows (a face the
        detector missed once is blurred where it is carried to), grown by how far it moves in a frame."""
        boxes = [faces.xyxy]
        if detected is not None:
            boxes.append(detected.xyxy)
        if unsure is not None:
            boxes.append(unsure)
        if self.tracker is not None:
            step = 0.0 if self._previous_t is None else frame.timestamp - self._previous_t
            boxes.append(self.tracker.held_boxes(frame.timestamp, step))
        return np.concatenate([np.asarray(b, np.float32).reshape(-1, 4) for b in boxes])

    def _track(self, frame: Frame, detected: Faces | None) -> Faces:
        if detected is not None:
            return self.tracker.update(detected, frame.timestamp, frame.image) if self.tracker is not None else detected
        if self.tracker is not None:
            return self.tracker.predict(frame.timestamp, frame.image)
        return self.faces

    def end(self, reason: str, started: float) -> None:
        """This lane is over (`end`, `max_frames`, `user`, `error`, `interrupted`): its counts and the monitor's
        summary are final."""
        self.live = False
        self.stats.stop_reason = reason
        self.settle(started)

    def settle(self, started: float) -> None:
        """Wall time, frames dropped and the monitor's summary (`stats.summary`, the one every output of the
        summary reads), fixed when the lane ends or the run does, whichever comes first: a run that failed
        has them too."""
        if self.alerts is not None and self.stats.summary is None:
            summary = self.alerts.summary()
            for sink in self.sinks:  # where the events went: the outputs say (their fields keep their place)
                summary.update(sink.summary_items())
            self.stats.summary = summary
        if not self.stats.wall_s:
            self.stats.wall_s = perf_counter() - started
            self.stats.dropped = self.source.dropped

    def close(self, failed: bool = False, discard: bool = False) -> None:
        """Close every output (discarded when `discard`, or `failed` before the first frame), stop the source."""
        self._discard = discard or (failed and self.stats.frames == 0)
        self._owned.close()


READY_POLL_S = 0.002  # how often a tick of several sources looks again while none has a frame


def ready_lanes(lanes: Sequence[Lane]) -> list[Lane]:
    """The lanes whose source has a frame now, once at least one has: a tick of several sources takes
    what is ready and never waits on one that stalled (its source gives up on its own timeout)."""
    while True:
        ready = [lane for lane in lanes if lane.ready]
        if ready:
            return ready
        sleep(READY_POLL_S)
