"""Sources: what kind a SOURCE is, FileSource order and end marker, CameraSource newest-frame hand-over."""

from __future__ import annotations

import threading
import time

import pytest
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
