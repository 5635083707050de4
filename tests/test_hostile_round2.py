"""The hostile corpus, round 2: each case failed before its fix and states the rule it now keeps.

Cases run the real command in its own session (test_hostile.facemask), so a hang fails the
test instead of blocking it and nothing the run started may outlive it.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import assert_one_error
from test_hostile import _fifo, _video, facemask, fingerprint, partial_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- 1. lists that name other files


def _concat_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"ffconcat version 1.0\nfile {target}\n")
    return path


def _hls_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: _concat_list(t, _fifo(t, "pipe.mp4").name), id="ffconcat naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, _video(t, "real.mp4").name), id="ffconcat naming a real video"),
        pytest.param(lambda t: _hls_list(t, _fifo(t, "pipe.ts").name), id="HLS playlist naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, "/dev/stdin", name="clip.avi"), id="ffconcat naming standard input"),
    ],
)
def test_a_list_of_other_files_is_refused_not_followed(tmp_path, tiny_model, make):
    clip = make(tmp_path)
    before = fingerprint(tmp_path)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "it is text, not a video", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path, monkeypatch):
    """`pipe:0` in the current folder is the file, not standard input: OpenCV gets an absolute path."""
    from facemask.sources import FileSource

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipe:0").write_bytes(b"\0not a video")
    opened = []

    class Refused:
        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    source = FileSource(Path("pipe:0"), capture_factory=lambda name: opened.append(name) or Refused())
    with pytest.raises(Exception, match="cannot open video"):
        source.start()
    assert opened == [str(tmp_path / "pipe:0")]


def test_app_clip_refuses_an_uploaded_list(tmp_path):
    """The page's clip path reads through FileSource too: an uploaded ffconcat list is one message."""
    from facemask.app_clip import process_clip
    from facemask.errors import FacemaskError

    with pytest.raises(FacemaskError, match="it is text, not a video"):
        process_clip("evil.mp4", b"ffconcat version 1.0\nfile /dev/stdin\n", None, 5.0)


# ---------------------------------------------------------------- 2. timeouts that round to "for ever"


def _silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(4)], daemon=True).start()
    return server, server.getsockname()[1]


@pytest.mark.parametrize("value", ["0.0001", "1e-9", "1e308", "86401"])
def test_open_timeout_out_of_range_is_refused_when_parsed(tiny_model, value):
    server, port = _silent_server()
    try:
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", value, timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "--open-timeout must be a number of seconds from 0.001 to 86400", code=2)


def test_open_timeout_is_rounded_up_to_a_whole_millisecond(monkeypatch):
    """0.0015 s is 2 ms, never 1 ms less, and never 0 ms (which OpenCV reads as no timeout)."""
    import facemask.sources as sources

    seen = []
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda src, api, params: seen.append(params))
    sources.open_capture("rtsp://x/live", 0.0015)
    sources.open_capture("rtsp://x/live", 0.001)
    assert [p[1] for p in seen] == [2, 1] and [p[3] for p in seen] == [2, 1]
    for bad in (0.0001, 0.0, float("nan"), float("inf"), 1e308):
        with pytest.raises(sources.FacemaskError, match="timeout must be from 0.001 to 86400 seconds"):
            sources.open_capture("rtsp://x/live", bad)


def test_a_one_millisecond_open_timeout_gives_up_at_once(tiny_model):
    server, port = _silent_server()
    try:
        t0 = time.monotonic()
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", "0.001", timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "no answer within 0.001 s", code=2)
    assert time.monotonic() - t0 < 40
