"""Clip processing behind the web page, without a browser: facemask.app.clip with the tiny model."""

from __future__ import annotations

import pytest
from video_fixtures import read_back, write_truncated_video, write_video

from facemask.app.clip import process_clip
from facemask.core.config import ClassifierConfig, DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.sinks.base import PREVIEW_MAX_SIDE


@pytest.fixture(scope="module")
def analyzer(tiny_model) -> FaceMaskAnalyzer:
    return FaceMaskAnalyzer.load(DetectorConfig(mode="fast"), ClassifierConfig(model=str(tiny_model)))


def test_clip_becomes_a_small_webm_with_every_frame(analyzer, tmp_path):
    clip = tmp_path / "walk.mp4"
    has_face = write_video(clip, frames=20, size=(800, 600), fps=10.0)
    reports = []
    result = process_clip("walk.mp4", clip.read_bytes(), analyzer, 30.0, lambda f, text: reports.append((f, text)))

    webm = tmp_path / "out.webm"
    webm.write_bytes(result.video)
    assert webm.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska/WebM file
    frames, size, fps = read_back(webm)
    assert (frames, size) == (20, (PREVIEW_MAX_SIDE, 480)) and fps == pytest.approx(10.0)
    assert (result.frames, result.cut, result.name) == (20, False, "walk.mp4")
    assert reports[-1] == (1.0, "Frame 20 of 20")
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)
    assert result.summary["frames"] == 20
    assert "events_path" not in result.summary and "snapshot_dir" not in result.summary  # temp paths are gone
    if has_face:
        assert result.summary["people"] == 1


def test_time_limit_cuts_the_clip(analyzer, tmp_path):
    clip = tmp_path / "long.avi"
    write_video(clip, frames=30, fps=10.0, with_face=False)
    result = process_clip("long.avi", clip.read_bytes(), analyzer, 1.0)
    assert (result.frames, result.cut) == (10, True)


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("noise.mp4", lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000)), "cannot open video"),
        ("cut.avi", write_truncated_video, "truncated or corrupt"),
    ],
)
def test_unreadable_clip_names_the_upload_not_the_temp_file(analyzer, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with pytest.raises(FacemaskError, match=message) as info:
        process_clip(f"my {name}", path.read_bytes(), analyzer, 30.0)
    assert str(info.value).startswith(f"my {name}: ")
    assert "facemask-app-" not in str(info.value)


# ---------------------------------------------------------------- an uploaded list of other files


def test_app_clip_refuses_an_uploaded_list(tmp_path):
    """The page's clip path reads through FileSource too: an uploaded ffconcat list is one message."""
    from facemask.app.clip import process_clip
    from facemask.core.errors import FacemaskError

    with pytest.raises(FacemaskError, match="it is text, not a video"):
        process_clip("evil.mp4", b"ffconcat version 1.0\nfile /dev/stdin\n", None, 5.0)
