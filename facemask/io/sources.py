"""Frame sources: a webcam or stream (newest frame wins) and a video file (every frame, in order).

Each source decodes on its own reader thread so inference on the main thread never blocks
capture. `start()` opens the device or file, fails with a one-line FacemaskError when it
cannot, and returns the source; `read()` hands over the next `Frame`, or None at the end.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import cv2

from facemask.core.errors import FacemaskError
from facemask.core.types import Frame
from facemask.io.imageio import MAX_PIXELS_ENV, SYSTEM_TREES, VIDEO_SUFFIXES, looks_like_image, pixel_budget

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
JOIN_TIMEOUT_S = 2.0
MAX_CAMERA_INDEX = 9999  # OpenCV takes an int; a larger number is a typo, not a device
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.001, 86400.0  # OpenCV counts whole milliseconds; 0 ms means "wait for ever"
HEAD_BYTES = 4096
# FFmpeg follows these lists to the files they name (a FIFO named there blocks for ever), so none is read:
# concat lists, HLS and M3U playlists, DASH manifests (XML), SDP session files, PLS playlists.
LIST_HEADS = (b"ffconcat", b"#extm3u", b"#ext-x-", b"<?xml", b"<mpd", b"<smil", b"v=0", b"[playlist]", b"file ")
_END = object()


class Source(Protocol):
    fps: float
    dropped: int

    def start(self) -> Source: ...
    def read(self) -> Frame | None: ...
    def stop(self) -> None: ...


def source_kind(spec: str) -> str:
    """`camera`, `stream`, `folder`, `image` or `video`; a missing file is an error here.

    An http(s) URL naming a video file (`.../clip.mp4`) is a `video`: read every frame, in order.
    Pipes, sockets and devices are refused: reading one could block for ever or never end.
    """
    if spec.isdigit():
        if int(spec) <= MAX_CAMERA_INDEX:
            return "camera"
        if not Path(spec).exists():
            raise FacemaskError(f"{spec}: no such file, and too large for a camera index (0 to {MAX_CAMERA_INDEX})")
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", spec)
    if scheme and scheme.group(1).lower() in STREAM_SCHEMES:
        return "video" if is_video_url(spec) else "stream"
    path = Path(spec)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise FacemaskError(f"{spec}: no such file")
    if not path.is_file():
        raise FacemaskError(
            f"{spec}: not a regular file (a pipe, socket or device); a camera is given by its index, e.g. 0"
        )
    return "image" if looks_like_image(path) else "video"


def is_video_url(spec: str) -> bool:
    """An http(s) URL whose path ends in a video file's suffix: a whole file served over HTTP, not a live feed."""
    url = urlsplit(spec)
    return url.scheme.lower() in ("http", "https") and PurePosixPath(url.path).suffix.lower() in VIDEO_SUFFIXES


def open_source(spec: str, realtime: bool = False, timeout_s: float = 10.0, reconnect: int = 0) -> Source:
    """The right source for a command-line SOURCE (not started yet).

    `timeout_s` bounds the wait for a camera's or stream's first and every later frame;
    `reconnect` is how many times a stream that stops is reopened (1, 2, 4... s apart).
    """
    kind = source_kind(spec)
    if kind == "camera":
        return CameraSource(int(spec), read_timeout_s=timeout_s)
    if kind == "stream":
        return CameraSource(spec, read_timeout_s=timeout_s, reconnect=reconnect)
    if kind == "video":
        return FileSource(spec if is_video_url(spec) else Path(spec), realtime=realtime)
    raise FacemaskError(f"{spec}: is an {kind}, not a video, camera or stream")


def _fps_of(cap, fallback: float) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 0.05 <= fps <= 240.0 else fallback  # a 0.5 fps time-lapse keeps its own clock


class _Threaded:
    """Start/stop plumbing shared by both sources: an Event to stop, a join with a timeout."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap = None
        self.dropped = 0

    def _launch(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the reader, wait for it (bounded) and release the capture. Safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("reader thread did not stop within %.1f s", JOIN_TIMEOUT_S)
                return  # releasing under a live read() could crash the native code
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def check_timeout(timeout_s: float) -> float:
    """A wait OpenCV and threading can honour: 1 ms to a day (NaN, 0 and infinity are refused)."""
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise FacemaskError(f"timeout must be from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g} seconds, got {timeout_s!r}")
    return timeout_s


def timeout_ms(timeout_s: float) -> int:
    """`timeout_s` in whole milliseconds, rounded up: 0.1 ms must not become 0, which OpenCV reads as no timeout."""
    return max(1, math.ceil(check_timeout(timeout_s) * 1000))


def open_capture(src: int | str, timeout_s: float) -> cv2.VideoCapture:
    """`cv2.VideoCapture` whose FFmpeg open and read give up after `timeout_s` (its default is 30 s)."""
    if isinstance(src, int):
        return cv2.VideoCapture(src)
    ms = timeout_ms(timeout_s)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    return cv2.VideoCapture(src, cv2.CAP_FFMPEG, params)


class CameraSource(_Threaded):
    """A webcam index or a stream URL. The reader keeps only the newest frame; stale ones vanish.

    A stream that stops delivering is reopened up to `reconnect` times, waiting `backoff_s`,
    then twice that, and so on; `read()` keeps waiting while a reconnection is under way and
    raises one clear FacemaskError once the source gives up.
    """

    def __init__(
        self,
        src: int | str,
        capture_factory: Callable | None = None,
        read_timeout_s: float = 10.0,
        max_failures: int = 3,
        reconnect: int = 0,
        backoff_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.src = src
        self.name = f"camera {src}" if isinstance(src, int) else f"stream {src}"
        self._factory = capture_factory or (lambda source: open_capture(source, read_timeout_s))
        self._timeout = check_timeout(read_timeout_s)
        self._max_failures = max_failures
        self._reconnect = reconnect
        self._backoff = backoff_s
        self._reconnecting = False
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._captured = 0
        self._delivered = -1
        self._error: str | None = None
        self.fps = 30.0

    def start(self) -> CameraSource:
        cap = self._factory(self.src)
        if not cap.isOpened():
            cap.release()
            wait = "" if isinstance(self.src, int) else f" (no answer within {self._timeout:g} s; see --open-timeout)"
            raise FacemaskError(f"cannot open {self.name}{wait}")
        self._cap = cap
        self.fps = _fps_of(cap, 30.0)
        self._t0 = time.monotonic()
        self._launch(f"facemask-{self.name}")
        return self

    def _run(self) -> None:
        try:
            self._capture_loop()
        except Exception as exc:  # noqa: BLE001 - a driver crash must reach the main thread, not vanish
            self._fail(f"{self.name}: capture failed ({exc})")

    def _capture_loop(self) -> None:
        failures, attempts = 0, 0
        while not self._stop.is_set():
            ok, image = self._cap.read() if self._cap is not None else (False, None)
            if not ok or image is None:
                failures += 1
                if failures < self._max_failures:
                    self._stop.wait(0.01)
                    continue
                if attempts >= self._reconnect:
                    tried = f" and {attempts} reconnection{'s' if attempts != 1 else ''}" if attempts else ""
                    self._fail(f"{self.name} stopped delivering frames after {self._captured} frames{tried}")
                    return
                attempts += 1
                self._reopen(attempts)
                failures = 0
                continue
            failures, attempts = 0, 0  # the budget is per outage: a stream that recovers gets it back
            with self._cond:
                self._latest = Frame(image, self._captured, time.monotonic() - self._t0)
                self._captured += 1
                self._cond.notify_all()

    def _reopen(self, attempt: int) -> None:
        """Wait (1, 2, 4... x backoff, cut short by stop()), then open the source again."""
        delay = self._backoff * 2 ** (attempt - 1)
        log.warning("%s stopped; reconnecting in %.0f s (%d of %d)", self.name, delay, attempt, self._reconnect)
        with self._cond:
            self._reconnecting = True
        try:
            if self._cap is not None:
                self._cap.release()
                self._cap = None
            if self._stop.wait(delay):
                return
            cap = self._factory(self.src)
            if cap.isOpened():
                self._cap = cap
            else:
                cap.release()
        finally:
            with self._cond:
                self._reconnecting = False
                self._cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()  # a read() waiting on another thread returns None at once
        super().stop()

    def _fail(self, message: str) -> None:
        with self._cond:
            self._error = message
            self._cond.notify_all()

    def read(self) -> Frame | None:
        """The newest frame not handed out yet; waits for one. None once stopped."""
        with self._cond:

            def ready() -> bool:
                return bool(self._captured - 1 > self._delivered or self._error or self._stop.is_set())

            while not self._cond.wait_for(ready, timeout=self._timeout) and self._reconnecting:
                pass  # a reconnection is under way: its own attempts bound the wait
            if self._stop.is_set():
                return None
            if self._captured - 1 > self._delivered:
                frame = self._latest
                self.dropped += frame.index - self._delivered - 1
                self._delivered = frame.index
                return frame
            raise FacemaskError(self._error or f"{self.name}: no frame for {self._timeout:.0f} s")


def check_local_video(path: Path) -> None:
    """A local video must be a regular file that is not a list of other files.

    FFmpeg reads an ffconcat list, an HLS playlist or an SDP file named `clip.mp4` by its
    content and opens what it names, a FIFO or device included, which can block for ever.
    No video container is plain text, so text is refused from its first bytes, before
    OpenCV sees the file. The file is opened without blocking and checked to be regular.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FacemaskError(f"{path}: no such file") from None
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or any(path.resolve().is_relative_to(t) for t in SYSTEM_TREES):
            raise FacemaskError(f"{path}: not a regular file (a pipe, socket, device or system file)")
        head = os.read(fd, HEAD_BYTES)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    finally:
        os.close(fd)
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if start.startswith(LIST_HEADS) or (looks_like_text(head) and not head.startswith(b"YUV4MPEG2")):
        raise FacemaskError(
            f"{path}: cannot open video (it is text, not a video: playlists and concat lists, "
            "which name other files, are not read)"
        )


def open_video_file(name: str) -> cv2.VideoCapture:
    """A video file through FFmpeg only: OpenCV's fallback would read `clip%d.mp4` as an image
    sequence, opening `clip0.mp4`, `clip1.mp4`... whatever they are (a FIFO blocks for ever)."""
    return cv2.VideoCapture(name, cv2.CAP_FFMPEG)


def looks_like_text(head: bytes) -> bool:
    """The first bytes of a file are UTF-8 text (no NUL, no control bytes but tab and line ends)."""
    if not head:
        return False
    for cut in range(4):  # the read may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)


class FileSource(_Threaded):
    """A video file read ahead into a bounded queue, every frame in order, with an end marker.

    With `realtime=True` the file plays like a live camera: frames are paced by the file's
    fps clock and the reader keeps only the newest one when inference falls behind.
    With `loop=True` it restarts at the end, for benchmarks and soak runs.
    """

    def __init__(
        self,
        path: Path,
        realtime: bool = False,
        queue_size: int = 8,
        capture_factory: Callable | None = None,
        loop: bool = False,
    ) -> None:
        super().__init__()
        self.path = path if isinstance(path, str) and is_video_url(path) else Path(path)  # a URL stays a string
        self.realtime = realtime
        self.loop = loop
        self._factory = capture_factory or open_video_file
        self._queue: queue.Queue = queue.Queue(maxsize=1 if realtime else queue_size)
        self.fps = 25.0
        self.expected_frames = 0
        self.size = (0, 0)

    def start(self) -> FileSource:
        if isinstance(self.path, Path):
            check_local_video(self.path)
        # A local file goes to FFmpeg as an absolute path: `pipe:0` or `concat:a|b` in the current folder
        # would otherwise be read as a protocol (standard input, a list of files), not as the file.
        cap = self._factory(str(self.path) if isinstance(self.path, str) else str(self.path.absolute()))
        if not cap.isOpened():
            cap.release()
            raise FacemaskError(f"{self.path}: cannot open video (corrupt, truncated or unsupported format)")
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        if width * height > pixel_budget():  # from the header, before a frame is decoded
            cap.release()
            raise FacemaskError(
                f"{self.path}: {width}x{height} frames are over the {pixel_budget() / 1e6:g} MP "
                f"limit (raise it with --max-megapixels or {MAX_PIXELS_ENV})"
            )
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise FacemaskError(f"{self.path}: no frame could be decoded (truncated or corrupt video)")
        self._cap, self._first = cap, first
        self.fps = _fps_of(cap, 25.0)
        self.expected_frames = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.size = (first.shape[1], first.shape[0])
        self._launch(f"facemask-{PurePosixPath(str(self.path)).name}")
        return self

    def _run(self) -> None:
        image, index, t0 = self._first, 0, time.monotonic()
        self._first = None
        try:
            while image is not None and not self._stop.is_set():
                frame = Frame(image, index, index / self.fps)
                if self.realtime:
                    self._stop.wait(max(0.0, t0 + frame.timestamp - time.monotonic()))
                    self._put_newest(frame)
                else:
                    self._put(frame)
                index += 1
                ok, image = self._cap.read()
                if not ok and self.loop and index > 0:
                    self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok, image = self._cap.read()
                image = image if ok else None
            self._put(self._end_marker(index))
        except Exception as exc:  # noqa: BLE001 - a decoder crash must reach the main thread, not vanish
            self._put(FacemaskError(f"{self.path}: reading failed at frame {index} ({exc})"))

    def _end_marker(self, frames_read: int):
        """The end marker, or an error when the file stops well before its announced length."""
        expected = self.expected_frames
        if not self._stop.is_set() and expected > 0 and frames_read < 0.9 * expected and expected - frames_read > 2:
            return FacemaskError(f"{self.path}: video ends at frame {frames_read} of {expected} (truncated or corrupt)")
        return _END

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _put_newest(self, frame: Frame) -> None:
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            try:
                self._queue.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
            self._queue.put_nowait(frame)

    def read(self) -> Frame | None:
        """The next frame in order; None at the end or once stopped; FacemaskError for a truncated file."""
        while True:
            if self._stop.is_set():
                return None
            try:
                item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if (self._thread is None or not self._thread.is_alive()) and self._queue.empty():
                    return None
        if item is _END:
            self._stop.set()
            return None
        if isinstance(item, FacemaskError):
            self._stop.set()
            raise item
        return item
