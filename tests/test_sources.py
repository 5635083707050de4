"""Sources: what kind a SOURCE is, FileSource order and end marker, CameraSource newest-frame hand-over."""

from __future__ import annotations

import json
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import assert_one_error, fingerprint, partial_files, run_isolated, silent_server
from nasty_files import fifo, plain_video
from video_fixtures import FPS, FakeCapture, write_truncated_video, write_video

from facemask.core.errors import FacemaskError
from facemask.io.sources import FileSource, open_source, source_kind
from facemask.io.streams import CameraSource


def wait_until(predicate, timeout: float = 10.0) -> None:
    """Poll a condition set by another thread; fails the test only if it never comes true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def drain(source) -> list:
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    return frames


@pytest.mark.parametrize(
    "spec, kind",
    [
        ("0", "camera"),
        ("12", "camera"),
        ("rtsp://cam.local/live", "stream"),
        ("http://host:8080/video", "stream"),
        ("HTTPS://host/x.m3u8", "stream"),
    ],
)
def test_source_kind_of_devices_and_urls(spec, kind):
    assert source_kind(spec) == kind


@pytest.mark.parametrize(
    "name, kind",
    [
        ("a.jpg", "image"),
        ("b.JPEG", "image"),
        ("c.jpg_1088Wx1632H", "image"),
        ("d.mp4", "video"),
        ("e.avi", "video"),
        ("f.weird", "video"),
    ],
)
def test_source_kind_of_files(tmp_path, name, kind):
    (tmp_path / name).write_bytes(b"x")
    assert source_kind(str(tmp_path / name)) == kind
    assert source_kind(str(tmp_path)) == "folder"


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(FacemaskError, match="no such file"):
        source_kind(str(tmp_path / "nope.mp4"))
    with pytest.raises(FacemaskError, match="no such file"):
        FileSource(tmp_path / "nope.mp4").start()


def test_open_source_refuses_images(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(FacemaskError, match="not a video"):
        open_source(str(tmp_path / "a.png"))


def test_file_source_gives_every_frame_in_order_then_ends(tmp_path):
    path = tmp_path / "v.mp4"
    write_video(path, frames=15, with_face=False)
    with FileSource(path, queue_size=2) as source:
        assert source.fps == pytest.approx(FPS)
        assert source.size == (320, 240)
        frames = drain(source)
        assert source.read() is None  # the end stays the end
    assert [f.index for f in frames] == list(range(15))
    assert [f.timestamp for f in frames] == pytest.approx([i / FPS for i in range(15)])
    assert source.dropped == 0


def test_file_source_stop_mid_stream_joins_and_releases(tmp_path):
    cap = FakeCapture(frames=1000)
    source = FileSource(tmp_path / "v.mp4", queue_size=2, capture_factory=lambda _: cap)
    (tmp_path / "v.mp4").write_bytes(b"\0")  # binary: a text file is refused as a list
    source.start()
    assert source.read().index == 0
    source.stop()  # the reader is blocked on a full queue: stop must still end it
    assert not source._thread.is_alive()
    assert cap.released
    assert source.read() is None
    source.stop()  # twice is harmless


def test_file_source_truncated_video_raises_after_its_frames(tmp_path):
    path = tmp_path / "cut.avi"
    write_truncated_video(path, frames=30)
    source = FileSource(path).start()
    got = []
    with pytest.raises(FacemaskError, match=r"video ends at frame \d+ of 30"):
        while (frame := source.read()) is not None:
            got.append(frame.index)
    source.stop()
    assert 0 < len(got) < 27
    assert got == list(range(len(got)))


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 50])
def test_file_source_unreadable_video(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(FacemaskError, match="bad.mp4: cannot open video"):
        FileSource(path).start()


def test_file_source_zero_decodable_frames(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"\0")  # binary: a text file is refused as a list
    source = FileSource(tmp_path / "v.mp4", capture_factory=lambda _: FakeCapture(frames=0))
    with pytest.raises(FacemaskError, match="no frame could be decoded"):
        source.start()


def test_file_source_realtime_drops_frames_a_slow_consumer_cannot_take(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"\0")  # binary: a text file is refused as a list
    cap = FakeCapture(frames=60, fps=200.0)
    source = FileSource(tmp_path / "v.mp4", realtime=True, capture_factory=lambda _: cap).start()
    indices = []
    while (frame := source.read()) is not None:
        indices.append(frame.index)
        time.sleep(0.03)  # 33 fps at most, against a 200 fps clock
    source.stop()
    assert indices == sorted(set(indices))
    assert source.dropped > 0
    assert len(indices) + source.dropped == 60


def test_camera_hands_over_the_newest_frame_and_drops_stale_ones():
    gate = threading.Semaphore(0)
    cap = FakeCapture(gate=gate)
    source = CameraSource(0, capture_factory=lambda _: cap).start()
    try:
        gate.release(5)
        wait_until(lambda: cap.count == 5)
        wait_until(lambda: source._captured == 5)
        first = source.read()
        assert first.index == 4 and int(first.image[0, 0, 0]) == 4
        assert source.dropped == 4
        gate.release(1)
        second = source.read()  # waits for a frame it has not handed out yet
        assert second.index == 5
        assert second.timestamp >= first.timestamp
    finally:
        gate.release(100)
        source.stop()
    assert cap.released
    assert not source._thread.is_alive()
    assert source.read() is None


def test_camera_that_cannot_open():
    cap = FakeCapture(opened=False)
    with pytest.raises(FacemaskError, match="^cannot open camera 0$"):
        CameraSource(0, capture_factory=lambda _: cap).start()
    assert cap.released


def test_camera_that_dies_mid_stream_raises_once_its_frames_are_taken():
    cap = FakeCapture(fail_after=3)
    source = CameraSource("rtsp://x/live", capture_factory=lambda _: cap, max_failures=2).start()
    try:
        wait_until(lambda: source._error is not None)
        assert source.read().index == 2
        with pytest.raises(FacemaskError, match="stream rtsp://x/live stopped delivering frames after 3 frames"):
            source.read()
    finally:
        source.stop()
    assert cap.released


def test_camera_driver_crash_reaches_the_reader():
    cap = FakeCapture()

    def crash():
        raise RuntimeError("USB unplugged")

    cap.read = crash
    source = CameraSource(1, capture_factory=lambda _: cap).start()
    try:
        with pytest.raises(FacemaskError, match=r"camera 1: capture failed \(USB unplugged\)"):
            source.read()
    finally:
        source.stop()


# ---------------------------------------------- files that are not what they seem: lists, protocols, system files, URLs


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
        pytest.param(lambda t: _concat_list(t, fifo(t, "pipe.mp4").name), id="ffconcat naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, plain_video(t, "real.mp4").name), id="ffconcat naming a real video"),
        pytest.param(lambda t: _hls_list(t, fifo(t, "pipe.ts").name), id="HLS playlist naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, "/dev/stdin", name="clip.avi"), id="ffconcat naming standard input"),
    ],
)
def test_a_list_of_other_files_is_refused_not_followed(tmp_path, tiny_model, make):
    clip = make(tmp_path)
    before = fingerprint(tmp_path)
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "it is text, not a video", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path, monkeypatch):
    """`pipe:0` in the current folder is the file, not standard input: OpenCV gets an absolute path."""
    from facemask.io.sources import FileSource

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


def test_a_percent_in_a_video_name_is_never_an_image_sequence(tmp_path, tiny_model):
    """`c%d.mp4` that FFmpeg cannot read must not fall back to OpenCV's image sequence, which would
    open `c0.mp4`, `c1.mp4`... (FIFOs here, blocking for ever)."""
    (tmp_path / "c%d.mp4").write_bytes(bytes(range(256)) * 12)
    fifo(tmp_path, "c0.mp4")
    fifo(tmp_path, "c1.mp4")
    proc = run_isolated("detect", tmp_path / "c%d.mp4", "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "c%d.mp4: cannot open video", code=2)
    plain_video(tmp_path, "v%d.mp4", frames=5)  # a real video with a % in its name still plays, every frame
    proc = run_isolated(
        "detect", tmp_path / "v%d.mp4", "--no-display", "--model", tiny_model, "--json", tmp_path / "f.jsonl"
    )
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 5


def test_a_system_file_is_never_read_as_a_video():
    from facemask.core.errors import FacemaskError
    from facemask.io.sources import FileSource

    with pytest.raises(FacemaskError, match="not a regular file"):
        FileSource(Path("/proc/self/environ")).start()


def test_http_mp4_is_read_as_a_file_every_frame(tmp_path, tiny_model):
    clip = plain_video(tmp_path, frames=25)
    handler = partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
        jsonl = tmp_path / "f.jsonl"
        proc = run_isolated("detect", url, "--no-display", "--model", tiny_model, "--json", jsonl)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()] == list(range(25))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


# ---------------------------------------------------------------- open timeouts that round to "for ever"


@pytest.mark.parametrize("value", ["0.0001", "1e-9", "1e308", "86401"])
def test_open_timeout_out_of_range_is_refused_when_parsed(tiny_model, value):
    server, port = silent_server()
    try:
        url = f"http://127.0.0.1:{port}/live"
        proc = run_isolated("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", value, timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "--open-timeout must be a number of seconds from 0.001 to 86400", code=2)


def test_open_timeout_is_rounded_up_to_a_whole_millisecond(monkeypatch):
    """0.0015 s is 2 ms, never 1 ms less, and never 0 ms (which OpenCV reads as no timeout)."""
    import facemask.io.streams as streams

    seen = []
    monkeypatch.setattr(streams.cv2, "VideoCapture", lambda src, api, params: seen.append(params))
    streams.open_capture("rtsp://x/live", 0.0015)
    streams.open_capture("rtsp://x/live", 0.001)
    assert [p[1] for p in seen] == [2, 1] and [p[3] for p in seen] == [2, 1]
    for bad in (0.0001, 0.0, float("nan"), float("inf"), 1e308):
        with pytest.raises(streams.FacemaskError, match="timeout must be from 0.001 to 86400 seconds"):
            streams.open_capture("rtsp://x/live", bad)


def test_a_one_millisecond_open_timeout_gives_up_at_once(tiny_model):
    server, port = silent_server()
    try:
        t0 = time.monotonic()
        url = f"http://127.0.0.1:{port}/live"
        proc = run_isolated("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", "0.001", timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "no answer within 0.001 s", code=2)
    assert time.monotonic() - t0 < 40
