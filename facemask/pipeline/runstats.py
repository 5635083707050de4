"""What a run measured: counts and per-stage timings per frame, for the CLI summary and benchmarks."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np

from facemask.core.types import Faces

STAGES = ("decode_wait", "detect", "classify", "track", "alerts", "draw", "write")
STATS_WINDOW = 36_000  # frames of timings kept (20 min at 30 fps): a long camera run stays bounded
RATE_WINDOW_S = 1.0  # the on-screen frame rate counts the frames out in about the last second


class RateMeter:
    """Frames out per second over the last `window_s` of time: the rate a viewer sees, drops and all.

    A mean of per-frame rates (1 / frame time) overstates it: with detection every 2nd frame the
    cheap frames between detections dominate. This counts the frames that came out in the last
    `window_s` seconds, the interval cut by the window's start counted by the share of it inside,
    so alternating slow and fast frames do not make the figure jump. Over a whole run it is
    what `frames / wall_s` counts, so the two figures agree on a steady stream.
    """

    def __init__(self, window_s: float = RATE_WINDOW_S, clock=perf_counter) -> None:
        self.window_s, self._clock = window_s, clock
        self._times: deque[float] = deque([clock()])  # the start, then one time per frame
        self._frames = 0

    def tick(self) -> None:
        """One frame went out now."""
        now = self._clock()
        self._times.append(now)
        self._frames += 1
        while len(self._times) > 2 and now - self._times[1] >= self.window_s:
            self._times.popleft()

    @property
    def rate(self) -> float:
        """Frames per second over the window ending at the last frame; before a full window, since the start."""
        times = self._times
        if not self._frames:
            return 0.0
        start = times[-1] - self.window_s
        if times[0] > start:  # less than a window since the start: every frame so far
            return (len(times) - 1) / max(times[-1] - times[0], 1e-9)
        first = times[1] - times[0]  # the interval the window's start cuts
        inside = (times[1] - start) / first if first > 0 else 1.0
        return (len(times) - 2 + inside) / self.window_s


class StageClock:
    """Laps in milliseconds: `lap(stage)` charges the time since the previous lap to `stage`."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._t = perf_counter()

    def lap(self, stage: str) -> None:
        now = perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + (now - self._t) * 1000.0
        self._t = now

    def fork(self) -> StageClock:
        """A clock that keeps the laps so far and times from now: each stream's own stages after a shared tick."""
        clock = StageClock()
        clock.times = dict(self.times)
        return clock


def _stage_buffers() -> dict[str, deque]:
    return {stage: deque(maxlen=STATS_WINDOW) for stage in STAGES}


@dataclass
class RunStats:
    """Counts for the whole run; stage timings for the latest STATS_WINDOW frames.

    `stop_reason` is `end` (source finished), `max_frames`, `user` (q/Esc), `interrupted` (Ctrl-C,
    SIGTERM or SIGHUP, whose number is in `stop_signal`) or, in a multi-source run, `error` (this
    source died; the others went on).
    """

    frames: int = 0
    detected_frames: int = 0
    faces: int = 0
    labels: Counter = field(default_factory=Counter)
    events: int = 0
    dropped: int = 0
    wall_s: float = 0.0
    stop_reason: str = "end"
    stop_signal: int | None = None
    summary: dict | None = None
    stage_ms: dict[str, deque] = field(default_factory=_stage_buffers)

    def record(self, times: dict[str, float], faces: Faces) -> None:
        self.frames += 1
        self.faces += len(faces)
        self.labels.update(str(label) for label in faces.label)
        for stage in STAGES:
            self.stage_ms[stage].append(times.get(stage, 0.0))

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def percentiles(self, qs: tuple[int, ...] = (50, 95)) -> dict[str, dict[str, float]]:
        """`{stage: {"p50": ms, "p95": ms, "mean": ms}}` over the recorded frames."""
        out = {}
        for stage, values in self.stage_ms.items():
            arr = np.asarray(values, np.float64)
            row = {f"p{q}": round(float(np.percentile(arr, q)), 3) if len(arr) else 0.0 for q in qs}
            row["mean"] = round(float(arr.mean()), 3) if len(arr) else 0.0
            out[stage] = row
        return out
