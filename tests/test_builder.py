"""The one builder: which stages a PipelineConfig assembles, and that a failing run leaves no reader thread."""

from __future__ import annotations

import threading

import pytest
from test_pipeline import FakeClassifier, FakeDetector, FakeSource, ListSink, fake_analyzer
from video_fixtures import write_video

from facemask.alerts.stage import AlertStage
from facemask.benchmark import BenchmarkConfig, run_benchmark
from facemask.core.config import AlertConfig, ClassifierConfig, DetectorConfig, PipelineConfig
from facemask.core.errors import FacemaskError
from facemask.core.options import RunOptions
from facemask.io.sources import FileSource
from facemask.pipeline.builder import build_pipeline
from facemask.pipeline.run import Pipeline
from facemask.tracking.tracker import FaceTracker


def build(config: PipelineConfig) -> Pipeline:
    return build_pipeline(config, detector=FakeDetector(), classifier=FakeClassifier())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "config, tracked, watched",
    [
        (PipelineConfig(alerts=AlertConfig()), True, True),
        (PipelineConfig(), True, False),  # no alerts: tracked, no monitor
        (PipelineConfig(tracker=None, alerts=AlertConfig()), False, False),  # alerts follow tracks
    ],
)
def test_tracker_and_monitor_follow_the_config(config, tracked, watched):
    pipeline = build(config)
    assert isinstance(pipeline.tracker, FaceTracker) is tracked
    assert isinstance(pipeline.alerts, AlertStage) is watched
    assert pipeline.detect_every == 2 and pipeline.overlay.lines(12.0, None) == ["FPS 12.0"]


def test_images_are_each_detected_untracked_and_drawn_without_a_panel():
    pipeline = build(PipelineConfig.for_images(DetectorConfig(mode="accurate"), ClassifierConfig()))
    assert pipeline.tracker is None and pipeline.alerts is None and pipeline.detect_every == 1
    assert pipeline.overlay.lines(12.0, {"people": 1}) == []


def test_no_classifier_detects_only():
    pipeline = build_pipeline(PipelineConfig(classifier=None, tracker=None), detector=FakeDetector())  # type: ignore[arg-type]
    assert pipeline.analyzer.classifier is None
    sink = ListSink(needs_image=False)
    pipeline.run(FakeSource(2), [sink])
    assert [list(f.label) for f in sink.faces] == [[""], [""]]


@pytest.mark.parametrize(
    "make", [lambda: PipelineConfig(detect_every=0), lambda: Pipeline(fake_analyzer(), detect_every=-3)]
)
def test_a_bad_cadence_fails_before_anything_runs(make):
    with pytest.raises(FacemaskError, match="detect-every must be >= 1 frame"):
        make()


def test_a_run_that_raises_stops_the_reader_thread(tmp_path):
    video = tmp_path / "v.mp4"
    write_video(video, frames=30)
    source = FileSource(video).start()
    with pytest.raises(OSError, match="disk full"):
        Pipeline(fake_analyzer()).run(source, [ListSink(fail_at=2)])
    assert not source._thread.is_alive()  # a live reader at exit aborts the interpreter ("exception not rethrown")


def test_benchmark_with_a_bad_cadence_starts_no_reader_thread(tmp_path):
    video = tmp_path / "v.mp4"
    write_video(video, frames=5)
    threads = threading.active_count()
    with pytest.raises(FacemaskError, match="detect-every"):
        run_benchmark(BenchmarkConfig(video, frames=5, options=RunOptions(no_track=True, detect_every=-3)))
    assert threading.active_count() == threads
