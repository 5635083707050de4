"""`--blur` (issue 32): faces blurred in every saved picture, boxes and labels still drawn, the JSON unchanged."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, run_facemask, shared_path
from test_pipeline import FakeClassifier, ListSink

from facemask.core.config import TrackerConfig
from facemask.core.types import Faces, Frame
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.annotate import COLORS
from facemask.pipeline.blur import FaceBlur
from facemask.pipeline.run import Pipeline
from facemask.tracking.tracker import FaceTracker

sys.path.insert(0, str(REPO / "tools"))
from blur_check import frames as _frames  # noqa: E402  (the acceptance measure, as the tool applies it to the clips)
from blur_check import measure, sharpness  # noqa: E402

FRAMES = 20  # 0.8 s at 25 fps: every other frame is carried by the tracker between detections


def test_face_blur_leaves_the_rest_and_its_input_alone():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 300, 3), np.uint8)
    kept = image.copy()
    faces = Faces(xyxy=[[100, 50, 180, 150]], score=[0.9])
    out = FaceBlur().blur(image, faces.xyxy)
    assert np.array_equal(image, kept)  # a copy is blurred, never the input
    assert sharpness(out, (100, 50, 180, 150)) <= 0.02 * sharpness(image, (100, 50, 180, 150))
    assert np.array_equal(out[:, :80], image[:, :80]) and np.array_equal(out[170:], image[170:])  # outside: as it was
    assert FaceBlur().blur(image, Faces.empty().xyxy) is image


FACE = (60, 40, 120, 100)  # xyxy of the generated frames' face


class DroppingDetector:
    """Finds the one face on every frame but those in `drop`: the detector missing a face once."""

    def __init__(self, drop: set[int]) -> None:
        self.drop, self.calls = drop, 0

    def detect(self, image: np.ndarray, held: np.ndarray | None = None) -> Faces:
        self.calls += 1
        return Faces.empty() if self.calls - 1 in self.drop else Faces(xyxy=[FACE], score=[0.9])


class NoiseSource:
    """`n` frames at 25 fps of the same noise picture, so any sharp frame shows in the face box."""

    def __init__(self, n: int) -> None:
        self.image = np.random.default_rng(1).integers(0, 256, (160, 240, 3), np.uint8)
        self.n, self.i, self.fps, self.dropped = n, 0, 25.0, 0

    def read(self) -> Frame | None:
        if self.i >= self.n:
            return None
        self.i += 1
        return Frame(self.image.copy(), self.i - 1, (self.i - 1) / self.fps)

    def stop(self) -> None:
        pass


@pytest.mark.parametrize("detect_every", [1, 2])
def test_a_face_the_detector_misses_once_is_blurred_where_the_tracker_carries_it(detect_every):
    """Detector runs 3 (tentative track) and 7 (confirmed) find nothing, so the tracker leaves the face out of
    its output on those frames (and the predicted ones after): the blur still covers it, on every frame."""
    source, sink = NoiseSource(20), ListSink(needs_image=False)  # no overlay drawn: the blur alone
    analyzer = FaceMaskAnalyzer(DroppingDetector({3, 7}), FakeClassifier())  # type: ignore[arg-type]
    tracker = FaceTracker(TrackerConfig())
    Pipeline(analyzer, tracker, detect_every=detect_every, blur=FaceBlur()).run(source, [sink])  # type: ignore[arg-type]
    missed = [i for i, faces in enumerate(sink.faces) if not len(faces)]
    assert len(missed) == 2 * detect_every, missed  # the face is left out of the output where it was missed
    sharp = sharpness(source.image, FACE)
    for frame in sink.frames:
        assert sharpness(frame.image, FACE) <= 0.10 * sharp, frame.index
    assert np.array_equal(sink.frames[-1].image[:, 130:], source.image[:, 130:])  # the rest is left alone


class UnsureDetector:
    """Finds nothing past its cut, and the face below it (loader.detect_split's second part)."""

    def detect(self, image: np.ndarray) -> Faces:
        return Faces.empty()

    def detect_split(self, image: np.ndarray) -> tuple[Faces, np.ndarray]:
        return Faces.empty(), np.array([FACE], np.float32)


def test_a_box_below_the_detector_cut_is_blurred_but_neither_labelled_nor_tracked():
    source, sink = NoiseSource(4), ListSink(needs_image=False)
    analyzer = FaceMaskAnalyzer(UnsureDetector(), FakeClassifier())  # type: ignore[arg-type]
    Pipeline(analyzer, FaceTracker(), detect_every=1, blur=FaceBlur()).run(source, [sink])  # type: ignore[arg-type]
    assert all(len(faces) == 0 for faces in sink.faces)
    for frame in sink.frames:
        assert sharpness(frame.image, FACE) <= 0.10 * sharpness(source.image, FACE)


def test_blur_detects_every_frame_whatever_the_schedule():
    from facemask.core.config import PipelineConfig
    from facemask.pipeline.builder import build_pipeline

    config = PipelineConfig(detect_every=3, blur=True)
    pipeline = build_pipeline(config, detector=DroppingDetector(set()), classifier=FakeClassifier())  # type: ignore[arg-type]
    assert pipeline.detect_every == 1


PAN_PX = 8  # the window moves this far a frame: a camera panning across the man


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The first 0.8 s of a shared clip of an unmasked man, as a camera panning across it: a 640x360 window
    moving PAN_PX a frame over the frames scaled to 800x450."""
    video = shared_path("videos", "nomask_man.mp4")
    path = tmp_path_factory.mktemp("blur") / "man.mp4"
    source = cv2.VideoCapture(str(video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    for i in range(FRAMES):
        ok, frame = source.read()
        assert ok
        frame = cv2.resize(frame, (800, 450), interpolation=cv2.INTER_AREA)
        writer.write(np.ascontiguousarray(frame[45:405, PAN_PX * i : PAN_PX * i + 640]))
    writer.release()
    source.release()
    return path


def test_blur_on_a_short_moving_clip_every_frame_with_a_face(short_clip, tmp_path):
    """The acceptance measures (tools/blur_check.py): every face of the run's own JSON and every face an
    independent detector finds on the source frames hidden (sharpness <= 10 % of the source's, off the
    overlay), on every frame with a face. The JSON Lines are those of a run detecting every frame, as --blur does."""
    outputs = {}
    report = tmp_path / "report.html"
    for name, extra in (("sharp", ["--detect-every", "1"]), ("blurred", ["--blur", "--report", report])):
        video, jsonl, events = tmp_path / f"{name}.mp4", tmp_path / f"{name}.jsonl", tmp_path / f"{name}_ev.jsonl"
        proc = run_facemask(
            "detect", short_clip, "--no-display", "--output", video, "--json", jsonl, "--events", events,
            "--violation-after", "0.2", *extra,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outputs[name] = (video, jsonl, events)
    sharp_json, blurred_json = (outputs[n][1].read_text() for n in ("sharp", "blurred"))
    assert sharp_json == blurred_json  # JSON unchanged
    runs = {"sharp": outputs["sharp"][0], "blurred": outputs["blurred"][0], "json": outputs["blurred"][1]}
    measured = measure(short_clip, runs, None)
    for way in ("own", "independent"):
        assert measured[way]["faces_measured"] >= FRAMES // 2, measured
        assert measured[way]["share_hidden"] == 1.0 and measured[way]["worst"]["ratio"] <= 0.10, measured
    records = [json.loads(line) for line in sharp_json.splitlines()]
    sharp, blurred = list(_frames(outputs["sharp"][0])), list(_frames(outputs["blurred"][0]))
    assert len(sharp) == len(blurred) == len(records) == FRAMES
    with_face = [r for r in records if r["faces"]]
    assert len(with_face) >= FRAMES // 2, "the detector found too few faces to measure"
    for record in with_face:  # (the whole box is not compared: the panning face passes under the panel)
        assert not np.array_equal(sharp[record["frame"]], blurred[record["frame"]])
    # Boxes and labels are still drawn over the blur: as many pixels of the label's colour as without it.
    last = with_face[-1]
    colour = COLORS[str(last["faces"][0]["label"])]
    painted = [int((np.abs(f[last["frame"]].astype(int) - colour).max(axis=2) < 40).sum()) for f in (sharp, blurred)]
    assert painted[0] > 100 and painted[1] >= 0.9 * painted[0], painted
    snapshots = [json.loads(line)["snapshot"] for line in outputs["blurred"][2].read_text().splitlines()]
    snapshots = [s for s in snapshots if s]
    assert snapshots, "no violation snapshot to check"
    sharp_shots = [json.loads(line)["snapshot"] for line in outputs["sharp"][2].read_text().splitlines()]
    for blurred_shot, sharp_shot in zip(snapshots, [s for s in sharp_shots if s]):
        a, b = cv2.imread(blurred_shot), cv2.imread(sharp_shot)
        h, w = a.shape[:2]
        box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)  # the face, inside the snapshot's margin
        assert sharpness(a, box) <= 0.10 * sharpness(b, box)
    # --report on the same run: its thumbnails are the blurred snapshots, its timeline the JSON Lines' counts.
    from test_report import assert_plots, jsonl_counts

    page = report.read_text()
    assert_plots(page, 0, jsonl_counts(outputs["blurred"][1]))
    assert page.count('src="data:image/jpeg;base64,') == len(snapshots)


def test_boxes_of_one_face_are_blurred_once_and_neighbours_stay_apart():
    from facemask.pipeline.blur import merged

    same_face = [[100, 100, 200, 200], [105, 95, 210, 205], [110, 110, 190, 190]]  # detection, track, drawn box
    neighbour = [[205, 100, 300, 200]]  # touches the first face, is another one
    out = merged(np.array(same_face + neighbour, np.float64))
    assert sorted(out.tolist()) == [[100, 95, 210, 205], [205, 100, 300, 200]]
