"""Frame sources: a webcam or stream (newest frame wins) and a video file (every frame, in order).

Each source decodes on its own reader thread so inference on the main thread never blocks
capture. `start()` opens the device or file, fails with a one-line FacemaskError when it
cannot, and returns the source; `read()` hands over the next `Frame`, or None at the end.

Camera and stream sources live in io/streams.py, the checks run on a local video before
FFmpeg opens it in io/video_checks.py, and the reader-thread plumbing in io/threaded.py.
"""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import cv2

from facemask.core.config import OPEN_TIMEOUT_S
from facemask.core.errors import FacemaskError
from facemask.core.types import Frame
from facemask.io.imageio import MAX_PIXELS_ENV, VIDEO_SUFFIXES, looks_like_image, pixel_budget
from facemask.io.streams import CameraSource
from facemask.io.threaded import _fps_of, _Threaded
from facemask.io.video_checks import check_local_video, open_video_file

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
MAX_CAMERA_INDEX = 9999  # OpenCV takes an int; a larger number is a typo, not a device
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
        try:
            path.stat()
        except FileNotFoundError:
            raise FacemaskError(f"{spec}: no such file") from None
        except OSError as exc:  # a link that loops: say so, not "no such file"
            raise FacemaskError(f"{spec}: cannot read ({exc.strerror})") from None
    if not path.is_file():
        raise FacemaskError(
            f"{spec}: not a regular file (a pipe, socket or device); a camera is given by its index, e.g. 0"
        )
    return "image" if looks_like_image(path) else "video"


def is_video_url(spec: str) -> bool:
    """An http(s) URL whose path ends in a video file's suffix: a whole file served over HTTP, not a live feed."""
    url = urlsplit(spec)
    return url.scheme.lower() in ("http", "https") and PurePosixPath(url.path).suffix.lower() in VIDEO_SUFFIXES


def open_source(spec: str, realtime: bool = False, timeout_s: float = OPEN_TIMEOUT_S, reconnect: int = 0) -> Source:
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
                    if index <= self.expected_frames and self._end_marker(index) is not _END:
                        break  # the first pass ended well short: a truncated file, reported below, not looped
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

    def ready(self) -> bool:
        """Whether `read()` returns at once: a frame (or the end) is queued, or the reader is done."""
        return not self._queue.empty() or self._stop.is_set() or self._thread is None or not self._thread.is_alive()

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
