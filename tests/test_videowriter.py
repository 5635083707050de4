"""Recordings: H.264 in mp4/mkv through PyAV (browsers play it), mp4v with one warning when it is missing."""

from __future__ import annotations

import logging

import numpy as np
import pytest
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
