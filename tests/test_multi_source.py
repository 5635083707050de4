"""Several sources in one process: the shared loop, per-source outputs and names, a dying source, the mosaic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error, run_facemask
from video_fixtures import read_back, write_truncated_video, write_video

from facemask.cli.multi_source_outputs import per_source, source_names
from facemask.core.config import AlertConfig, DetectorConfig, PipelineConfig, TrackerConfig, detect_cadence
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.pipeline.builder import build_pipeline
from facemask.pipeline.mosaic import compose_mosaic, grid_shape, letterbox
from facemask.pipeline.multi import SourceRun, run_sources
from facemask.pipeline.run import run_lanes
from facemask.sinks.base import Sink

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FPS = 10.0


class OneFaceDetector:
    """One sure face per frame, always at the same place: the tracker confirms it as one person."""

    config = DetectorConfig()

    def detect(self, image: np.ndarray) -> Faces:
        return Faces(xyxy=[[40, 20, 100, 80]], score=[0.95])


class BrightnessClassifier:
    """A dark frame reads no_mask, a bright one mask; records each batch's size."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def classify_many(self, images: list[np.ndarray], faces: list[Faces]) -> list[Faces]:
        self.batches.append(sum(len(f) for f in faces))
        out = []
        for image, found in zip(images, faces):
            p = np.full(len(found), 0.9 if image.mean() > 128 else 0.1, np.float32)
            labels = np.where(p > 0.5, "mask", "no_mask").astype(object)
            out.append(found.with_(mask_prob=p, label=labels, raw_mask_prob=p, raw_label=labels.copy()))
        return out


class ValueSource:
    """`n` frames filled with `value`; raises `FacemaskError` when frame `fail_at` is due."""

    def __init__(self, n: int, value: int, fail_at: int | None = None) -> None:
        self.n, self.value, self.fail_at = n, value, fail_at
        self.i, self.fps, self.dropped, self.stopped = 0, FPS, 0, False

    def read(self) -> Frame | None:
        if self.i == self.fail_at:
            raise FacemaskError("camera unplugged")
        if self.i >= self.n:
            return None
        self.i += 1
        return Frame(np.full((120, 160, 3), self.value, np.uint8), self.i - 1, (self.i - 1) / FPS)

    def stop(self) -> None:
        self.stopped = True


class RecordSink(Sink):
    needs_image = False

    def __init__(self) -> None:
        self.records: list[list[dict]] = []
        self.closed = self.discarded = False

    def write(self, frame: Frame, faces: Faces) -> None:
        self.records.append(faces.to_records())

    def close(self) -> None:
        self.closed = True

    def discard(self) -> None:
        self.discarded = True


def tracked(detector, classifier):
    config = PipelineConfig(DetectorConfig(), None, tracker=TrackerConfig(), alerts=AlertConfig())
    return build_pipeline(config, detector=detector, classifier=classifier)


def run_many(sources: list[ValueSource], errors: list | None = None):
    detector, classifier = OneFaceDetector(), BrightnessClassifier()
    runs = [SourceRun(f"s{i}", tracked(detector, classifier), s, [RecordSink()]) for i, s in enumerate(sources)]
    on_error = None if errors is None else (lambda lane, exc: errors.append((lane.name, str(exc))))
    stats = run_sources(runs, on_error=on_error)
    return runs, stats, classifier


def test_each_source_is_its_own_run_and_faces_are_classified_in_one_batch_per_tick():
    runs, stats, classifier = run_many([ValueSource(30, 40), ValueSource(30, 220), ValueSource(20, 40)])
    every = runs[0].pipeline.detect_every
    assert every == 2  # the default: frames between detections are predicted, not classified
    # One classifier call a tick for the streams detected in it. Each stream's first frame is detected, then
    # they take turns (lane i on the frames where (frame + i) % every == 0), so the load is even.
    due = [[t < n and (t == 0 or (t + i) % every == 0) for i, n in enumerate((30, 30, 20))] for t in range(30)]
    assert classifier.batches == [sum(d) for d in due if any(d)]
    assert classifier.batches[:4] == [3, 1, 2, 1]
    for turn, (run, st, (n, value)) in enumerate(zip(runs, stats, [(30, 40), (30, 220), (20, 40)])):
        alone = tracked(OneFaceDetector(), BrightnessClassifier())
        sink = RecordSink()
        lane = alone.lane(ValueSource(n, value), [sink], turn=turn)  # alone, at the same turn
        run_lanes(alone.analyzer, [lane])
        alone_stats = lane.stats
        assert run.sinks[0].records == sink.records  # tracks, labels, confidences as if it ran alone
        assert (st.frames, st.stop_reason) == (alone_stats.frames, "end")
        assert run.pipeline.alerts.summary() == alone.alerts.summary()
    assert [run.pipeline.alerts.summary()["violations"] for run in runs] == [1, 0, 1]


def test_a_dying_source_is_reported_and_closed_while_the_others_go_on():
    errors: list = []
    dying, healthy = ValueSource(30, 40, fail_at=5), ValueSource(30, 220)
    runs, stats, _ = run_many([dying, healthy], errors)
    assert errors == [("s0", "camera unplugged")]
    assert dying.stopped and runs[0].sinks[0].closed and len(runs[0].sinks[0].records) == 5
    assert stats[0].stop_reason == "error" and stats[1].stop_reason == "end"
    assert len(runs[1].sinks[0].records) == 30 and healthy.stopped


@pytest.mark.parametrize("first", [True, False])
def test_a_source_that_dies_before_its_first_frame_discards_its_outputs(first):
    """Issue 21's rule: every output opened before a failure is discarded, when it would hold nothing;
    also when the dead source is the last one left (its outputs then close with the run)."""
    errors: list = []
    dead, healthy = ValueSource(30, 40, fail_at=0), ValueSource(30 if first else 0, 220)  # 0: ends first
    runs, _, _ = run_many([dead, healthy] if first else [healthy, dead], errors)
    dead_sink = runs[0 if first else 1].sinks[0]
    assert dead_sink.discarded and not dead_sink.closed and dead_sink.records == []
    assert runs[1 if first else 0].sinks[0].closed


def test_without_an_error_handler_a_dying_source_ends_the_run():
    with pytest.raises(FacemaskError, match="unplugged"):
        run_many([ValueSource(30, 40, fail_at=5), ValueSource(30, 220)])


def test_sources_must_share_their_models():
    classifier = BrightnessClassifier()
    a, b = ValueSource(3, 40), ValueSource(3, 40)
    runs = [
        SourceRun("a", tracked(OneFaceDetector(), classifier), a),
        SourceRun("b", tracked(OneFaceDetector(), classifier), b),
    ]
    with pytest.raises(ValueError, match="share one detector"):
        run_sources(runs)
    assert a.stopped and b.stopped


@pytest.mark.parametrize(
    ("count", "shape"), [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 2)), (5, (2, 3)), (9, (3, 3)), (10, (3, 4))]
)
def test_grid_shape(count, shape):
    assert grid_shape(count) == shape


def test_mosaic_puts_each_stream_in_its_tile_in_reading_order():
    tiles = [np.full((36, 64, 3), v, np.uint8) for v in (50, 100, 150)] + [None]
    mosaic = compose_mosaic(tiles, (64, 36))
    assert mosaic.shape == (72, 128, 3)
    assert mosaic[10, 10, 0] == 50 and mosaic[10, 74, 0] == 100 and mosaic[46, 10, 0] == 150
    assert not mosaic[36:, 64:].any()  # the fourth place, no picture: black


def test_letterbox_keeps_the_aspect():
    tall = np.full((100, 50, 3), 200, np.uint8)
    boxed = letterbox(tall, (64, 36))
    assert boxed.shape == (36, 64, 3)
    assert boxed[:, 32].min() == 200 and boxed[:, 0].max() == 0  # 18 px wide in the middle, black sides


@pytest.mark.parametrize(
    ("specs", "kinds", "names"),
    [
        (["a/clip.mp4", "b/clip.mp4", "clip.avi"], ["video"] * 3, ["clip", "clip-2", "clip-3"]),
        (["x/a.mp4", "y/a.mp4", "a-2.mp4"], ["video"] * 3, ["a", "a-2", "a-2-2"]),
        (["0", "1"], ["camera", "camera"], ["camera0", "camera1"]),
        (["rtsp://u:p@cam1.local:554/live", "rtsp://cam1.local/b"], ["stream"] * 2, ["cam1_local", "cam1_local-2"]),
        (["https://host/v/walk in.mp4?x=1"], ["video"], ["walk_in"]),
    ],
)
def test_source_names_are_unique_and_safe_in_file_names(specs, kinds, names):
    assert source_names(specs, kinds) == names


def test_output_paths_per_source(tmp_path):
    names = ["a", "a-2"]
    assert per_source(Path("out/{name}.mp4"), "--output", names) == [Path("out/a.mp4"), Path("out/a-2.mp4")]
    assert per_source(tmp_path, "--events", names) == [tmp_path / "a_events.jsonl", tmp_path / "a-2_events.jsonl"]
    assert per_source(Path("-"), "--json", names) == [Path("-"), Path("-")]
    with pytest.raises(FacemaskError, match=r"takes a folder or a template with \{name\}"):
        per_source(tmp_path / "one.mp4", "--output", names)


# End to end: the command a user types.


def cli(*args):
    return run_facemask("detect", *args, "--no-display", module="facemask.cli", timeout=300)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    write_video(folder / "walk.mp4", frames=30)
    write_video(folder / "still.avi", frames=20)
    write_truncated_video(folder / "cut.avi", frames=30)
    (folder / "corrupt.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"garbage" * 200)
    return folder


def test_several_sources_each_get_their_outputs_and_the_counts_of_a_run_alone(tmp_path, clips, tiny_model):
    out = tmp_path / "out"
    out.mkdir()
    walk, still = clips / "walk.mp4", clips / "still.avi"
    # Every frame detected, so each stream's records can be compared with its run alone frame by frame
    # (by default the streams take turns at the detector: see test_the_default_cadence_...).
    proc = cli(walk, walk, still, "--model", tiny_model, "--output", out, "--json", out / "{name}.jsonl",
               "--summary", tmp_path / "summary.json", "--detect-every", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in ("walk", "walk-2", "still") for ext in ("mp4", "jsonl")
    )
    assert read_back(out / "walk-2.mp4")[0] == 30 and read_back(out / "still.mp4")[0] == 20
    document = json.loads((tmp_path / "summary.json").read_text())
    for name, clip in (("walk", walk), ("walk-2", walk), ("still", still)):
        rows = [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
        assert {r.pop("source") for r in rows} == {name}
        alone = tmp_path / f"alone_{name}.jsonl"
        assert cli(clip, "--model", tiny_model, "--json", alone, "--detect-every", "1").returncode == 0
        assert rows == [json.loads(line) for line in alone.read_text().splitlines()]
        summary = json.loads(alone.with_name(alone.stem + "_summary.json").read_text())
        section = document["sources"][name]
        assert (section["source"], section["error"]) == (str(clip), None)
        assert {k: section[k] for k in ("people", "violations", "masked")} == {
            k: summary[k] for k in ("people", "violations", "masked")
        }
    total = document["total"]
    assert total["sources"] == 3 and total["people"] == sum(s["people"] for s in document["sources"].values())
    assert f"all 3 sources: people {total['people']}" in proc.stdout


def test_a_source_that_fails_is_one_error_line_and_the_run_is_partial(tmp_path, clips, tiny_model):
    out = tmp_path / "out"
    out.mkdir()
    proc = cli(clips / "cut.avi", clips / "walk.mp4", clips / "corrupt.mp4", "--model", tiny_model,
               "--json", out, "--events", out)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"error: {clips / 'corrupt.mp4'}: cannot open video")
    assert lines[1].startswith(f"error: {clips / 'cut.avi'}: video ends at frame")
    assert len((out / "walk.jsonl").read_text().splitlines()) == 30  # the healthy one finished
    cut_rows = (out / "cut.jsonl").read_text().splitlines()  # the dead one's lines kept, whole
    assert 0 < len(cut_rows) < 27 and all(json.loads(line)["source"] == "cut" for line in cut_rows)
    assert not list(out.glob("*.partial-*"))


def test_when_every_source_fails_the_run_fails(clips, tiny_model):
    proc = cli(clips / "corrupt.mp4", clips / "corrupt.mp4", "--model", tiny_model)
    assert proc.returncode == 2 and proc.stderr.count("error: ") == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("option", "fragment"),
    [("--output", "--output takes a folder or a template"), ("--json", "--json takes a folder or a template")],
)
def test_one_output_file_for_several_sources_is_refused(tmp_path, clips, tiny_model, option, fragment):
    suffix = ".mp4" if option == "--output" else ".jsonl"
    proc = cli(clips / "walk.mp4", clips / "still.avi", "--model", tiny_model, option, tmp_path / f"one{suffix}")
    assert_one_error(proc, fragment, 2)


def test_q_in_the_mosaic_window_stops_every_source(monkeypatch):
    import facemask.sinks.base as base
    from facemask.pipeline.mosaic import MosaicWindow

    shown: list[np.ndarray] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(base.cv2, "imshow", lambda title, image: shown.append(image))
    monkeypatch.setattr(base.cv2, "waitKey", lambda ms: ord("q") if len(shown) == 3 else -1)
    monkeypatch.setattr(base.cv2, "destroyWindow", lambda title: None)
    detector, classifier = OneFaceDetector(), BrightnessClassifier()
    runs = [SourceRun(f"s{i}", tracked(detector, classifier), ValueSource(30, v)) for i, v in enumerate((40, 220))]
    stats = run_sources(runs, window=MosaicWindow(["s0", "s1"]))
    assert [(s.frames, s.stop_reason) for s in stats] == [(3, "user"), (3, "user")]
    assert len(shown) == 3 and shown[0].shape == (360, 1280, 3)  # two 640x360 tiles side by side
    assert shown[0][:, :640].mean() < shown[0][:, 640:].mean()  # the dark stream left, the bright one right


def test_a_stop_signal_ends_every_source_with_whole_outputs(tmp_path, tiny_model):
    import signal
    import subprocess

    from conftest import REPO, facemask_argv, wait_for_lines

    for name in ("a", "b"):
        write_video(tmp_path / f"{name}.mp4", frames=400)
    out = tmp_path / "out"
    out.mkdir()
    argv = facemask_argv("detect", tmp_path / "a.mp4", tmp_path / "b.mp4", "--no-display", "--model", tiny_model,
                         "--json", out, "--events", out, module="facemask.cli")  # fmt: skip
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_lines(proc, out, "b.partial-*.jsonl", "the run ended before the signal", lines=5)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert stderr.strip() == "stopped by SIGTERM"
    counts = [len([json.loads(line) for line in (out / f"{n}.jsonl").read_text().splitlines()]) for n in "ab"]
    assert 5 <= min(counts) and max(counts) < 400 and abs(counts[0] - counts[1]) <= 1  # one frame of each a tick
    assert (out / "a_events.jsonl").is_file() and not list(out.glob("*.partial-*"))
    assert "all 2 sources: people" in stdout


def test_the_default_cadence_lets_several_streams_take_turns_at_one_detector():
    """Issue 22: four streams at >= 15 fps on 2 cores. The detector runs on about every other tick, however
    many sources share it; an explicit --detect-every is kept as asked."""
    assert [detect_cadence(None, n) for n in (1, 2, 4, 8)] == [2, 4, 8, 16]
    assert detect_cadence(3, 4) == 3 and detect_cadence(1) == 1
