"""The frame rate on the overlay: frames out per second, the same figure the run reports at the end."""

from __future__ import annotations

import time

import pytest
from test_pipeline import FakeSource, ListSink, fake_analyzer

from facemask.pipeline.overlay import Overlay
from facemask.pipeline.run import Pipeline
from facemask.pipeline.runstats import RateMeter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_meter(frame_times: list[float], window_s: float = 1.0) -> list[float]:
    clock = FakeClock()
    meter = RateMeter(window_s, clock=clock)
    rates = []
    for dt in frame_times:
        clock.now += dt
        meter.tick()
        rates.append(meter.rate)
    return rates


def test_rate_counts_frames_not_the_mean_of_per_frame_rates():
    """Detection every 2nd frame: 90 ms then 10 ms. 20 fps out; a mean of 1/dt would say 55."""
    rates = run_meter([0.09, 0.01] * 40)
    assert all(r == pytest.approx(20.0, rel=0.01) for r in rates[20:])  # from the first full second on
    assert all(r == pytest.approx(8.0, rel=0.01) for r in run_meter([0.23, 0.02] * 20)[8:])


def test_rate_follows_a_change_within_about_a_second():
    rates = run_meter([0.02] * 100 + [0.1] * 15)  # 50 fps, then 10 fps
    assert rates[99] == pytest.approx(50.0, rel=0.02)
    assert rates[-1] == pytest.approx(10.0, rel=0.1)


def test_rate_before_a_full_window_is_frames_since_the_start():
    assert run_meter([0.25, 0.25]) == [4.0, 4.0]
    assert RateMeter().rate == 0.0


class RecordingOverlay(Overlay):
    def draw(self, image, faces, lines):
        shown = [float(line.split()[1]) for line in lines if line.startswith("FPS ")]
        object.__setattr__(self, "shown", getattr(self, "shown", []) + shown)
        return super().draw(image, faces, lines)


class UnevenSink(ListSink):
    """Slow on every other frame, like a frame where the detector runs."""

    def write(self, frame, faces) -> None:
        super().write(frame, faces)
        if frame.index % 2 == 0:
            time.sleep(0.04)


def test_overlay_fps_agrees_with_the_reported_fps():
    overlay = RecordingOverlay()
    stats = Pipeline(fake_analyzer(), overlay=overlay).run(FakeSource(40), [UnevenSink()])
    assert overlay.shown[-1] == pytest.approx(stats.fps, rel=0.10)
