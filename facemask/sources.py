"""Frame sources: a webcam or stream (newest frame wins) and a video file (every frame, in order).

Each source decodes on its own reader thread so inference on the main thread never blocks
capture. `start()` opens the device or file, fails with a one-line FacemaskError when it
cannot, and returns the source; `read()` hands over the next `Frame`, or None at the end.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2

from facemask.errors import FacemaskError
from facemask.imageio import looks_like_image
from facemask.types import Frame

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
JOIN_TIMEOUT_S = 2.0
_END = object()


class Source(Protocol):
    fps: float
    dropped: int

    def start(self) -> Source: ...
    def read(self) -> Frame | None: ...
    def stop(self) -> None: ...


def source_kind(spec: str) -> str:
    """`camera`, `stream`, `folder`, `image` or `video`; a missing file is an error here."""
    if spec.isdigit():
        return "camera"
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", spec)
    if scheme and scheme.group(1).lower() in STREAM_SCHEMES:
        return "stream"
    path = Path(spec)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise FacemaskError(f"{spec}: no such file")
    return "image" if looks_like_image(path) else "video"


def open_source(spec: str, realtime: bool = False) -> Source:
    """The right source for a command-line SOURCE (not started yet)."""
    kind = source_kind(spec)
    if kind == "camera":
        return CameraSource(int(spec))
    if kind == "stream":
        return CameraSource(spec)
    if kind == "video":
        return FileSource(Path(spec), realtime=realtime)
    raise FacemaskError(f"{spec}: is an {kind}, not a video, camera or stream")


def _fps_of(cap, fallback: float) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 1.0 <= fps <= 240.0 else fallback


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


class CameraSource(_Threaded):
    """A webcam index or a stream URL. The reader keeps only the newest frame; stale ones vanish."""

    def __init__(
        self,
        src: int | str,
        capture_factory: Callable = cv2.VideoCapture,
        read_timeout_s: float = 10.0,
        max_failures: int = 3,
    ) -> None:
        super().__init__()
        self.src = src
        self.name = f"camera {src}" if isinstance(src, int) else f"stream {src}"
        self._factory = capture_factory
        self._timeout = read_timeout_s
        self._max_failures = max_failures
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
            raise FacemaskError(f"cannot open {self.name}")
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
        failures = 0
        while not self._stop.is_set():
            ok, image = self._cap.read()
            if not ok or image is None:
                failures += 1
                if failures >= self._max_failures:
                    self._fail(f"{self.name} stopped delivering frames after {self._captured} frames")
                    return
                self._stop.wait(0.01)
                continue
            failures = 0
            with self._cond:
                self._latest = Frame(image, self._captured, time.monotonic() - self._t0)
                self._captured += 1
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
            self._cond.wait_for(
                lambda: self._captured - 1 > self._delivered or self._error or self._stop.is_set(),
                timeout=self._timeout,
            )
            if self._stop.is_set():
                return None
            if self._captured - 1 > self._delivered:
                frame = self._latest
                self.dropped += frame.index - self._delivered - 1
                self._delivered = frame.index
                return frame
            raise FacemaskError(self._error or f"{self.name}: no frame for {self._timeout:.0f} s")


class FileSource(_Threaded):
    """A video file read ahead into a bounded queue, every frame in order, with an end marker.

    With `realtime=True` the file plays like a live camera: frames are paced by the file's
    fps clock and the reader keeps only the newest one when inference falls behind.
    With `loop=True` it restarts at the end, for benchmarks and soak runs.
    """

    def __init__(self, path: Path, realtime: bool = False, queue_size: int = 8,
                 capture_factory: Callable = cv2.VideoCapture, loop: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.realtime = realtime
        self.loop = loop
        self._factory = capture_factory
        self._queue: queue.Queue = queue.Queue(maxsize=1 if realtime else queue_size)
        self.fps = 25.0
        self.expected_frames = 0
        self.size = (0, 0)

    def start(self) -> FileSource:
        if not self.path.is_file():
            raise FacemaskError(f"{self.path}: no such file")
        cap = self._factory(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise FacemaskError(f"{self.path}: cannot open video (corrupt, truncated or unsupported format)")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise FacemaskError(f"{self.path}: no frame could be decoded (truncated or corrupt video)")
        self._cap, self._first = cap, first
        self.fps = _fps_of(cap, 25.0)
        self.expected_frames = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.size = (first.shape[1], first.shape[0])
        self._launch(f"facemask-{self.path.name}")
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
            return FacemaskError(
                f"{self.path}: video ends at frame {frames_read} of {expected} (truncated or corrupt)"
            )
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
