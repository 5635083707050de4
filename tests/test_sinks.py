"""Sinks: JSONL lines flushed as they come, a readable video file, the image JSON document, the window keys."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from video_fixtures import read_back

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.sinks.base import JsonlSink, VideoFileSink, WindowSink
from facemask.sinks.images import AnnotatedImageSink, JsonResultsSink, output_name, result_entry, results_document


def labelled_faces() -> Faces:
    return Faces(
        xyxy=[[10, 20, 60, 80], [100, 10, 140, 60]], score=[0.98, 0.7], mask_prob=[0.9, 0.2], label=["mask", "no_mask"]
    )


def frame(i: int, size: tuple[int, int] = (160, 120)) -> Frame:
    return Frame(np.full((size[1], size[0], 3), i * 10 % 256, np.uint8), i, i / 12.0)


def test_jsonl_lines_are_valid_and_flushed_before_close(tmp_path):
    path = tmp_path / "out.jsonl"
    sink = JsonlSink(path)
    sink.write(frame(0), Faces.empty())
    sink.write(frame(1), labelled_faces())
    assert not path.exists()  # it is renamed into place only when complete
    lines = sink.partial_path.read_text().splitlines()  # flushed as they come, readable while open
    sink.close()
    assert path.read_text().splitlines() == lines and not sink.partial_path.exists()
    rows = [json.loads(line) for line in lines]
    assert [r["frame"] for r in rows] == [0, 1]
    assert rows[1]["time_s"] == pytest.approx(1 / 12, abs=1e-4)
    assert rows[0]["faces"] == []
    assert rows[1]["faces"] == labelled_faces().to_records()
    assert rows[1]["faces"][0] == {"box": [10, 20, 60, 80], "label": "mask", "confidence": 0.9, "face_confidence": 0.98}
    with pytest.raises(FacemaskError, match="after close"):
        sink.write(frame(2), Faces.empty())
    sink.close()


def test_jsonl_unwritable_path(tmp_path):
    with pytest.raises(FacemaskError, match="cannot write"):
        JsonlSink(tmp_path / "missing" / "out.jsonl")


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_file_reads_back_with_frame_count_size_and_fps(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    with VideoFileSink(path, fps=12.0) as sink:
        for i in range(9):
            sink.write(frame(i), Faces.empty())
    assert read_back(path) == (9, (160, 120), pytest.approx(12.0))


def test_video_file_keeps_its_size_when_frames_change_size(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoFileSink(path, fps=10.0) as sink:
        sink.write(frame(0), Faces.empty())
        sink.write(frame(1, size=(320, 200)), Faces.empty())
    count, size, _ = read_back(path)
    assert (count, size) == (2, (160, 120))


def test_video_file_closed_by_with_when_an_error_escapes(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoFileSink(path, fps=10.0) as sink:
        for i in range(4):
            sink.write(frame(i), Faces.empty())
        raise RuntimeError("source died")
    assert read_back(path)[0] == 4


def test_video_file_in_missing_folder(tmp_path):
    with pytest.raises(FacemaskError, match="output folder does not exist"):
        VideoFileSink(tmp_path / "nope" / "out.mp4", fps=10.0)


def test_json_results_document(tmp_path):
    path = tmp_path / "results.json"
    image = np.zeros((50, 80, 3), np.uint8)
    with JsonResultsSink(path) as sink:
        sink.write(Frame(image, 0, 0.0, name="a.jpg"), labelled_faces())
        sink.skip("c.gif", "c.gif: not a readable image")
        sink.write(Frame(image, 2, 0.0, name="b.png"), Faces.empty())
    doc = json.loads(path.read_text())
    entries = [result_entry("a.jpg", 80, 50, labelled_faces()), result_entry("b.png", 80, 50, Faces.empty())]
    assert doc == results_document(entries, [{"source": "c.gif", "error": "c.gif: not a readable image"}])
    assert [r["source"] for r in doc["results"]] == ["a.jpg", "b.png"]
    first = doc["results"][0]
    assert (first["width"], first["height"]) == (80, 50)
    assert first["faces"][1] == {
        "box": [100, 10, 140, 60],
        "label": "no_mask",
        "confidence": 0.8,
        "face_confidence": 0.7,
    }


def test_json_results_valid_when_empty(tmp_path):
    path = tmp_path / "results.json"
    JsonResultsSink(path).close()
    assert json.loads(path.read_text()) == {"results": [], "skipped": []}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.jpg", "a.jpg"),
        ("B.JPG", "B.jpg"),
        ("sub/c.png", "sub/c.png"),
        ("d.jpg_1088Wx1632H", "d.jpg_1088Wx1632H.jpg"),
        ("e.webp", "e.webp"),
    ],
)
def test_output_name(name, expected):
    assert output_name(Path(name)) == Path(expected)


def test_annotated_images_mirror_subfolders(tmp_path):
    sink = AnnotatedImageSink(tmp_path / "out", [Path("a.png"), Path("sub/x.jpg_1088Wx1632H")])
    image = np.full((20, 30, 3), 200, np.uint8)
    dest = sink.write(Frame(image, 1, 0.0, name="photos/sub/x.jpg_1088Wx1632H"), Faces.empty())
    assert dest == tmp_path / "out" / "sub" / "x.jpg_1088Wx1632H.jpg"
    assert cv2.imread(str(dest)).shape == (20, 30, 3) and sink.written == 1


def test_annotated_images_without_relatives_keep_the_file_name(tmp_path):
    with AnnotatedImageSink(tmp_path / "out") as sink:
        dest = sink.write(Frame(np.zeros((8, 8, 3), np.uint8), 0, 0.0, name="in/B.JPG"), Faces.empty())
    assert dest == tmp_path / "out" / "B.jpg" and dest.is_file()


def test_image_batch_sinks_need_a_named_frame(tmp_path):
    with JsonResultsSink(tmp_path / "r.json") as sink, pytest.raises(ValueError, match="no name"):
        sink.write(frame(0), Faces.empty())


def test_annotated_images_output_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FacemaskError, match="not a folder"):
        AnnotatedImageSink(tmp_path / "file")


@pytest.mark.parametrize("key, stops", [(ord("q"), True), (27, True), (ord("a"), False), (255, False)])
def test_window_quit_keys(monkeypatch, key, stops):
    shown = []
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(cv2, "imshow", lambda title, image: shown.append(title))
    monkeypatch.setattr(cv2, "waitKey", lambda ms: key)
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: shown.append("closed"))
    with WindowSink(title="t") as window:
        window.write(frame(0), Faces.empty())
        assert window.wants_stop is stops
    assert shown == ["t", "closed"]


def test_window_without_display(monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(FacemaskError, match="no display.*--no-display"):
        WindowSink()
