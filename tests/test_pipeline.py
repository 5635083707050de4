"""The loop: order, tracker and monitor plug-ins, stage timings, and that everything is closed on every exit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from video_fixtures import read_back, write_video

from facemask.core.config import ClassifierConfig, DetectorConfig, PipelineConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.io.images import ImageItem, ImageSource
from facemask.io.sources import FileSource
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.annotate import FaceAnnotator
from facemask.pipeline.builder import build_pipeline
from facemask.pipeline.overlay import Overlay, format_counters
from facemask.pipeline.run import Pipeline
from facemask.pipeline.runstats import STAGES, RunStats
from facemask.sinks.base import JsonlSink, Sink, VideoFileSink


class FakeDetector:
    """One face per frame, at a box that moves with the frame's pixel value."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> Faces:
        self.calls += 1
        v = float(image[0, 0, 0])
        return Faces(xyxy=[[v, 10, v + 40, 50]], score=[0.9])


class FakeClassifier:
    def __init__(self) -> None:
        self.batches: list[int] = []  # faces per classify_many call

    def classify_many(self, images: list[np.ndarray], faces: list[Faces]) -> list[Faces]:
        self.batches.append(sum(len(f) for f in faces))
        return [self.classify(image, f) for image, f in zip(images, faces)]

    def classify(self, image: np.ndarray, faces: Faces) -> Faces:
        p = np.full(len(faces), 0.8, np.float32)
        labels = np.full(len(faces), "mask", dtype=object)
        return faces.with_(mask_prob=p, label=labels, raw_mask_prob=p, raw_label=labels.copy())


def fake_analyzer() -> FaceMaskAnalyzer:
    return FaceMaskAnalyzer(FakeDetector(), FakeClassifier())  # type: ignore[arg-type]


class FakeSource:
    """Frames 0..n-1, optionally raising `error` when frame `fail_at` is due."""

    def __init__(self, n: int, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.n, self.fail_at, self.error = n, fail_at, error
        self.i, self.fps, self.dropped, self.stopped = 0, 10.0, 0, False

    def start(self):
        return self

    def read(self) -> Frame | None:
        if self.fail_at is not None and self.i == self.fail_at:
            raise self.error
        if self.i >= self.n:
            return None
        self.i += 1
        return Frame(np.full((120, 160, 3), self.i - 1, np.uint8), self.i - 1, (self.i - 1) / self.fps)

    def stop(self) -> None:
        self.stopped = True


class ListSink(Sink):
    """Remembers what it was given; optionally fails on frame `fail_at` or asks to stop after `stop_after`."""

    def __init__(self, needs_image: bool = True, fail_at: int | None = None, stop_after: int | None = None) -> None:
        self.needs_image = needs_image
        self.fail_at, self.stop_after = fail_at, stop_after
        self.frames: list[Frame] = []
        self.faces: list[Faces] = []
        self.closed = 0

    def write(self, frame: Frame, faces: Faces) -> None:
        if frame.index == self.fail_at:
            raise OSError("disk full")
        self.frames.append(frame)
        self.faces.append(faces)
        self.wants_stop = self.stop_after is not None and len(self.frames) >= self.stop_after

    def close(self) -> None:
        self.closed += 1


class FakeTracker:
    def __init__(self) -> None:
        self.updates: list[float] = []
        self.predictions: list[float] = []

    def update(self, faces: Faces, timestamp: float, image: np.ndarray | None = None) -> Faces:
        self.updates.append(timestamp)
        return faces.with_(track_id=np.arange(1, len(faces) + 1))

    def predict(self, timestamp: float, image: np.ndarray | None = None) -> Faces:
        self.predictions.append(timestamp)
        return Faces(xyxy=[[0, 0, 10, 10]], score=[0.5], track_id=[7])


class FakeMonitor:
    def __init__(self) -> None:
        self.seen: list[tuple[int, list[int]]] = []

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        self.seen.append((frame.index, list(faces.track_id)))
        return [{"event": "violation"}] if frame.index == 2 else []

    def counters(self) -> dict:
        return {"people": 1, "violations": 1, "compliance": 0.5}

    def summary(self) -> dict:
        return {"frames": len(self.seen)}


def test_every_frame_in_order_with_timings_for_every_stage():
    sink = ListSink()
    stats = Pipeline(fake_analyzer()).run(FakeSource(6), [sink])
    assert [f.index for f in sink.frames] == list(range(6))
    assert [float(f.xyxy[0, 0]) for f in sink.faces] == [0, 1, 2, 3, 4, 5]
    assert list(sink.faces[0].label) == ["mask"]
    assert stats.frames == 6 and stats.faces == 6 and stats.labels == {"mask": 6}
    assert stats.stop_reason == "end"
    assert set(stats.stage_ms) == set(STAGES)
    assert all(len(v) == 6 and min(v) >= 0 for v in stats.stage_ms.values())
    assert sink.closed == 1


def test_tracker_and_monitor_plug_in():
    sink, tracker, monitor = ListSink(), FakeTracker(), FakeMonitor()
    stats = Pipeline(fake_analyzer(), tracker, monitor).run(FakeSource(4), [sink])
    assert tracker.updates == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert monitor.seen == [(i, [1]) for i in range(4)]  # the monitor sees tracked faces
    assert [list(f.track_id) for f in sink.faces] == [[1]] * 4
    assert stats.events == 1
    assert [f.events for f in sink.frames] == [(), (), ({"event": "violation"},), ()]  # the events ride on the frame
    assert stats.summary == {"frames": 4}


def test_detect_every_lets_the_tracker_predict_in_between():
    analyzer, tracker, sink = fake_analyzer(), FakeTracker(), ListSink()
    stats = Pipeline(analyzer, tracker, detect_every=3).run(FakeSource(7), [sink])
    assert analyzer.detector.calls == 3  # frames 0, 3, 6
    assert tracker.updates == pytest.approx([0.0, 0.3, 0.6])
    assert tracker.predictions == pytest.approx([0.1, 0.2, 0.4, 0.5])
    assert [int(f.track_id[0]) for f in sink.faces] == [1, 7, 7, 1, 7, 7, 1]
    assert stats.detected_frames == 3


def test_without_tracker_skipped_frames_reuse_the_last_faces():
    sink = ListSink()
    Pipeline(fake_analyzer(), detect_every=2).run(FakeSource(4), [sink])
    assert [float(f.xyxy[0, 0]) for f in sink.faces] == [0, 0, 2, 2]


def test_source_error_mid_stream_closes_sinks_and_leaves_a_playable_file(tmp_path):
    video, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    source, monitor = (
        FakeSource(20, fail_at=5, error=FacemaskError("v.mp4: video ends at frame 5 of 20")),
        FakeMonitor(),
    )
    stats = RunStats()
    with pytest.raises(FacemaskError, match="ends at frame 5"):
        sinks = [VideoFileSink(video, fps=10.0), JsonlSink(jsonl)]
        Pipeline(fake_analyzer(), alerts=monitor).run(source, sinks, stats=stats)
    assert source.stopped
    assert stats.summary == {"frames": 5}  # a failed run still has its summary, for the caller to report
    assert read_back(video) == (5, (160, 120), pytest.approx(10.0))
    assert [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()] == [0, 1, 2, 3, 4]


def test_ctrl_c_ends_the_run_normally_with_everything_closed(tmp_path):
    video = tmp_path / "out.mp4"
    source = FakeSource(20, fail_at=3, error=KeyboardInterrupt())
    stats = Pipeline(fake_analyzer()).run(source, [VideoFileSink(video, fps=10.0)])
    assert stats.stop_reason == "interrupted" and stats.frames == 3
    assert source.stopped
    assert read_back(video)[0] == 3


def test_a_stopped_run_kept_unwhole_leaves_no_output(tmp_path):
    """A batch worker's run (keep_on_stop=False) stopped mid-file: its file is retried whole, so no video or
    JSON Lines under the real names, and no partial files either."""
    video, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    source = FakeSource(20, fail_at=3, error=KeyboardInterrupt())
    sinks = [VideoFileSink(video, fps=10.0), JsonlSink(jsonl)]
    stats = Pipeline(fake_analyzer()).run(source, sinks, keep_on_stop=False)
    assert stats.stop_reason == "interrupted" and stats.frames == 3 and source.stopped
    assert list(tmp_path.iterdir()) == []


def test_a_failing_sink_still_lets_the_others_close():
    good, bad, source = ListSink(), ListSink(fail_at=2), FakeSource(5)
    with pytest.raises(OSError, match="disk full"):
        Pipeline(fake_analyzer()).run(source, [good, bad])
    assert good.closed == 1 and bad.closed == 1 and source.stopped


@pytest.mark.parametrize(
    "max_frames, stop_after, frames, reason", [(3, None, 3, "max_frames"), (None, 2, 2, "user"), (None, None, 5, "end")]
)
def test_stop_conditions(max_frames, stop_after, frames, reason):
    stats = Pipeline(fake_analyzer()).run(FakeSource(5), [ListSink(stop_after=stop_after)], max_frames=max_frames)
    assert (stats.frames, stats.stop_reason) == (frames, reason)


class CountingOverlay(Overlay):
    def draw(self, image, faces, lines):
        object.__setattr__(self, "calls", getattr(self, "calls", 0) + 1)
        object.__setattr__(self, "last_lines", lines)
        return super().draw(image, faces, lines)


def test_drawing_happens_once_and_only_when_a_sink_shows_pixels():
    overlay = CountingOverlay()
    undrawn = ListSink(needs_image=False)
    Pipeline(fake_analyzer(), overlay=overlay).run(FakeSource(3), [undrawn])
    assert getattr(overlay, "calls", 0) == 0
    assert undrawn.frames[1].clean is None and undrawn.frames[1].clean_image is undrawn.frames[1].image
    first, second = ListSink(), ListSink()
    Pipeline(fake_analyzer(), alerts=FakeMonitor(), overlay=overlay).run(FakeSource(3), [first, second])
    assert overlay.calls == 3
    assert first.frames[1].image is second.frames[1].image  # one annotated picture, shared
    assert not np.array_equal(first.frames[1].image, np.full((120, 160, 3), 1, np.uint8))
    assert np.array_equal(first.frames[1].clean_image, np.full((120, 160, 3), 1, np.uint8))  # the picture as decoded
    assert (
        overlay.last_lines[0].startswith("FPS ") and overlay.last_lines[1] == "People 1  Violations 1  Compliance 50%"
    )


@pytest.mark.parametrize(
    "fps, counters, expected",
    [
        (0.0, None, []),
        (12.34, None, ["FPS 12.3"]),
        (None, {"people": 0, "compliance": None}, ["People 0  Compliance -"]),
        (5.0, {"in_violation": 2, "compliance_rate": 0.754}, ["FPS 5.0", "In violation 2  Compliance rate 75%"]),
        (5.0, {}, ["FPS 5.0"]),
    ],
)
def test_panel_lines(fps, counters, expected):
    assert Overlay().lines(fps, counters) == expected


def test_monitor_can_word_its_own_counters():
    overlay = Overlay(counter_lines=lambda c: [f"{c['people']} people"])
    assert overlay.lines(None, {"people": 4}) == ["4 people"]
    assert format_counters({}) == []


def test_run_stats_percentiles_and_fps():
    stats = RunStats()
    for ms in range(1, 101):
        stats.record({"detect": float(ms)}, Faces.empty())
    stats.wall_s = 2.0
    table = stats.percentiles()
    assert table["detect"]["p50"] == pytest.approx(50.5) and table["detect"]["p95"] == pytest.approx(95.05)
    assert table["write"] == {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    assert stats.fps == 50.0


def test_real_detector_and_tiny_model_on_a_written_video(tmp_path, tiny_model):
    path, jsonl = tmp_path / "v.mp4", tmp_path / "v.jsonl"
    has_face = write_video(path, frames=12)
    analyzer = FaceMaskAnalyzer.load(DetectorConfig(mode="fast"), ClassifierConfig(model=str(tiny_model)))
    stats = Pipeline(analyzer).run(FileSource(path).start(), [JsonlSink(jsonl)])
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(12)) and stats.frames == 12
    if has_face:  # the pasted face sits at x = 60 + 2 * frame, 120 px wide
        found = [r for r in rows if r["faces"]]
        assert len(found) >= 10
        for r in found:
            face = r["faces"][0]
            assert face["label"] in ("mask", "no_mask")
            assert abs(face["box"][0] - (60 + 2 * r["frame"])) <= 12 and 90 <= face["box"][2] - face["box"][0] <= 150


def image_pipeline() -> Pipeline:
    """The stages `facemask detect` runs on images, around the fake models."""
    config = PipelineConfig.for_images(DetectorConfig(mode="accurate"), ClassifierConfig())
    return build_pipeline(config, detector=FakeDetector(), classifier=FakeClassifier())  # type: ignore[arg-type]


def test_images_report_bad_ones_and_carry_on(tmp_path):
    good = tmp_path / "good.png"
    import cv2

    cv2.imwrite(str(good), np.full((40, 50, 3), 30, np.uint8))
    (tmp_path / "bad.jpg").write_bytes(b"junk")
    items = [ImageItem(tmp_path / "bad.jpg", tmp_path / "bad.jpg"), ImageItem(good, good)]
    errors, sink = [], ListSink(needs_image=False)
    source = ImageSource(items, on_error=lambda item, exc: errors.append((item.path.name, str(exc))))
    stats = image_pipeline().run(source, [sink])
    assert (stats.frames, source.failed, stats.faces) == (1, 1, 1)
    assert errors[0][0] == "bad.jpg" and "not a readable image" in errors[0][1]
    assert [(f.name, f.index, len(faces)) for f, faces in zip(sink.frames, sink.faces)] == [(str(good), 1, 1)]
    alone = ListSink()
    with pytest.raises(FacemaskError, match="not a readable image"):
        image_pipeline().run(ImageSource(items[:1]), [alone])  # no on_error: an image alone is raised
    assert alone.closed == 1


@pytest.mark.parametrize("needs_image", [True, False])
def test_images_are_named_frames_for_every_sink_which_are_all_closed(tmp_path, needs_image):
    import cv2

    items = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        cv2.imwrite(str(path), np.full((40, 50, 3), 30 + i, np.uint8))
        items.append(ImageItem(path, path.relative_to(tmp_path)))
    sink = ListSink(needs_image=needs_image, stop_after=2)
    stats = image_pipeline().run(ImageSource(items), [sink])
    assert stats.frames == 2 and stats.stop_reason == "user" and sink.closed == 1  # stopped after the second
    assert [(f.name, f.index) for f in sink.frames] == [(str(items[0].path), 0), (str(items[1].path), 1)]
    plain = np.full((40, 50, 3), 30, np.uint8)
    drawn = FaceAnnotator().annotate(plain, sink.faces[0])  # boxes and labels, no FPS or counters panel
    assert np.array_equal(sink.frames[0].image, drawn if needs_image else plain)


def test_second_look_keeps_a_candidate_only_where_the_classifier_calls_it_a_face():
    from facemask.pipeline.analyzer import second_look

    faces = Faces(xyxy=np.tile([0, 0, 40, 40], (4, 1)), score=np.array([0.9, 0.4, 0.4, 0.8], np.float32))
    faces = faces.with_(face_prob=np.array([0.01, 0.95, 0.2, 0.01], np.float32))  # P(face)
    assert second_look(faces, 0.5, None).score.tolist() == pytest.approx([0.9, 0.8])  # no such output: cut as ever
    kept = second_look(faces, 0.5, 0.5)  # P(not face) under 0.5 keeps a candidate; above the cut all stay
    assert kept.face_prob.tolist() == pytest.approx([0.01, 0.95, 0.01])
