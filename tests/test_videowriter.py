"""Recordings: H.264 in mp4/mkv through PyAV (browsers play it), mp4v with one warning when it is missing."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from conftest import run_isolated
from nasty_files import plain_video
from video_fixtures import read_back

from facemask.core.types import Faces, Frame
from facemask.io import videowriter
from facemask.sinks.base import VideoFileSink


def codec_of(path) -> str:
    """The codec name of the file's video stream, as FFmpeg reads it."""
    import av

    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


def write_frames(sink: VideoFileSink, count: int, size=(161, 121)) -> None:
    for i in range(count):
        image = np.full((size[1], size[0], 3), 20 * i % 255, np.uint8)
        sink.write(Frame(image, i, i / sink.fps), Faces.empty())
    sink.close()


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_mp4_mkv_mov_are_h264_with_every_frame(tmp_path, suffix, caplog):
    pytest.importorskip("av")
    path = tmp_path / f"out{suffix}"
    sink = VideoFileSink(path, fps=12.5)
    with caplog.at_level(logging.WARNING):
        write_frames(sink, 9)  # odd size: padded to even for yuv420p
    assert sink.codec == "h264" and codec_of(path) == "h264"
    frames, size, fps = read_back(path)
    assert frames == 9 and size == (162, 122) and fps == pytest.approx(12.5)
    assert not caplog.records


def test_avi_stays_motion_jpeg(tmp_path):
    sink = VideoFileSink(tmp_path / "out.avi", fps=10.0)
    write_frames(sink, 3, size=(160, 120))
    assert sink.codec == "MJPG" and read_back(tmp_path / "out.avi")[0] == 3


def test_without_h264_falls_back_to_mp4v_with_one_warning_naming_it(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(videowriter, "h264_unavailable", lambda: "PyAV is not installed")
    sink = VideoFileSink(tmp_path / "out.mp4", fps=10.0)
    with caplog.at_level(logging.WARNING):
        write_frames(sink, 4, size=(160, 120))
    assert sink.codec == "mp4v" and read_back(tmp_path / "out.mp4")[0] == 4
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "mp4v" in message and "PyAV is not installed" in message and "\n" not in message


# ---------------------------------------------------------------- frame rate and size kept end to end


def test_slow_clip_keeps_its_own_frame_rate(tmp_path, tiny_model):
    """A 0.5 fps time-lapse: time_s is 2 s a frame, and the recording plays at 0.5 fps."""
    clip = plain_video(tmp_path, name="slow.avi", frames=4, fps=0.5)
    jsonl, out = tmp_path / "f.jsonl", tmp_path / "out.avi"
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, "--json", jsonl, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["time_s"] for line in jsonl.read_text().splitlines()] == [0.0, 2.0, 4.0, 6.0]
    assert read_back(out)[2] == pytest.approx(0.5)


def test_odd_frame_size_is_kept_in_avi(tmp_path, tiny_model):
    """641x481 in, 641x481 out (.avi, Motion JPEG); H.264 needs even sides, so .mp4 pads to 642x482."""
    from facemask.io.videowriter import MjpegWriter

    clip = tmp_path / "odd.avi"
    writer = MjpegWriter(clip, 10.0, (641, 481))  # OpenCV's own writer could not even make this input
    for i in range(4):
        writer.write(np.full((481, 641, 3), 40 * i, np.uint8))
    writer.close()
    assert read_back(clip)[:2] == (4, (641, 481))
    for name, size in (("out.avi", (641, 481)), ("out.mp4", (642, 482))):
        proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, "--output", tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        assert read_back(tmp_path / name)[:2] == (4, size)
