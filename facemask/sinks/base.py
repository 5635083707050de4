"""Where results go. Every sink has `write(frame, faces)` and `close()`, closes idempotently, and works in `with`.

`frame.image` is the annotated picture, drawn once by the pipeline and shared; sinks with
`needs_image = False` let the pipeline skip drawing altogether. This module holds the base,
the window, the video files and JSON Lines; the image-batch outputs are in sinks/images.py,
the violation events in sinks/events.py, progress and memory sampling in sinks/progress.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import cv2

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.io.safeio import (
    StreamingFile,
    commit,
    discard,
    prepare_dest,
    remove_stale_partials,
    temp_path_for,
    write_error,
)
from facemask.io.stdio import standard_output
from facemask.io.videowriter import open_video_writer

log = logging.getLogger(__name__)

QUIT_KEYS = (ord("q"), ord("Q"), 27)  # Esc
PREVIEW_MAX_SIDE = 640  # the web page's WebM preview


class Sink:
    """Context-manager plumbing; `wants_stop` lets a sink (the window) end the run."""

    needs_image = True
    wants_stop = False

    def write(self, frame: Frame, faces: Faces) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds; a second call does nothing."""

    def summary_items(self) -> dict:
        """What this output adds to the run's summary (the events output: where the events went); most add nothing."""
        return {}

    def discard(self) -> None:
        """After a run that failed before its first frame: leave no file behind (an output holding nothing
        would read as a result). Sinks that write files override it; the rest just close."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_display() -> None:
    """Fail with a clear message instead of letting the GUI toolkit abort the process."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise FacemaskError("no display available for the preview window; use --no-display")


class WindowSink(Sink):
    """A preview window. The only caller of `cv2.waitKey`; `q` or Esc sets `wants_stop`.

    `wait_ms=0` waits for a key on each picture (image batches), 1 keeps video flowing.
    """

    def __init__(self, title: str = "facemask", wait_ms: int = 1) -> None:
        check_display()
        self.title = title
        self.wait_ms = wait_ms
        self._open = False

    def write(self, frame: Frame, faces: Faces) -> None:
        if self.wants_stop:
            return
        cv2.imshow(self.title, frame.image)
        self._open = True
        key = cv2.waitKey(self.wait_ms) & 0xFF
        if key in QUIT_KEYS:
            self.wants_stop = True

    def close(self) -> None:
        if self._open:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
            self._open = False


class VideoFileSink(Sink):
    """An annotated video at the input's fps. Opened on the first frame, so its size is the frame's.

    Frames go to `NAME.partial-XXXXXX.mp4` beside the destination; `close()` checks the file
    reads back (a full disk leaves one that does not) and only then renames it into place.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FacemaskError(f"{self.path.parent}: output folder does not exist")
        if self.path.exists() and not self.path.is_file():
            raise FacemaskError(f"{self.path}: not a regular file; a video needs a file it can seek in")
        self.fps = fps
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self.codec: str | None = None
        self._writer = None
        self._temp: Path | None = None

    def write(self, frame: Frame, faces: Faces) -> None:
        image = frame.image
        if self._writer is None:
            self._open((image.shape[1], image.shape[0]))
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        try:
            self._writer.write(image)
        except OSError as exc:
            self._abandon()
            raise write_error(self.path, exc) from None
        self.frames += 1

    def _open(self, size: tuple[int, int]) -> None:
        temp = temp_path_for(prepare_dest(self.path))
        try:
            self._writer = open_video_writer(temp, self.fps, size, name=self.path)
        except FacemaskError:
            discard(temp)
            raise FacemaskError(f"{self.path}: cannot write video (unsupported extension or codec?)") from None
        self.size, self._temp, self.codec = size, temp, self._writer.codec

    def _abandon(self) -> None:
        """After a failed write: drop the encoder and the partial file."""
        writer, self._writer = self._writer, None
        try:
            writer.close()
        except Exception as exc:  # noqa: BLE001 - the write already failed; the file goes either way
            log.debug("closing the failed video writer: %s", exc)
        discard(self._temp)
        self._temp = None

    def discard(self) -> None:
        """A run whose outputs are dropped (a batch worker stopped mid-file): no video under the real name."""
        if self._writer is not None:
            self._abandon()

    def close(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        temp, self._temp = self._temp, None
        try:
            writer.close()
        except OSError as exc:
            discard(temp)
            raise write_error(self.path, exc) from None
        readable = _frames_readable(temp)
        if readable < self.frames:
            discard(temp)
            raise FacemaskError(
                f"{self.path}: cannot write video (only {readable} of {self.frames} frames read back: disk full?)"
            )
        dest = prepare_dest(self.path)
        commit(temp, dest)
        remove_stale_partials(dest)
        log.info("wrote %d frames to %s", self.frames, self.path)


class WebmSink(Sink):
    """The annotated clip as VP8 WebM: a codec browsers play that pip's OpenCV can write (H.264 it cannot).

    OpenCV runs libvpx at its slow default preset, so frames are scaled to a long side of at
    most PREVIEW_MAX_SIDE px: the preview stays quick to make and light to stream.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self._writer: cv2.VideoWriter | None = None
        self._size = (0, 0)

    def write(self, frame: Frame, faces: Faces) -> None:
        image = frame.image
        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)

    def _open(self, width: int, height: int) -> None:
        scale = min(1.0, PREVIEW_MAX_SIDE / max(width, height))
        self._size = (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"VP80"), self.fps, self._size)
        if not self._writer.isOpened():
            raise FacemaskError("this OpenCV build cannot write VP8 WebM video")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def _frames_readable(path: Path) -> int:
    """Frames a reader finds in a just-written video; 0 when it does not open (no index: cut short)."""
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()


class JsonlSink(Sink):
    """One JSON line per processed frame, flushed at once so a crash loses nothing already seen.

    `source` (a multi-source run's stream name) leads each record; without it records have none.
    """

    needs_image = False

    def __init__(self, path: Path, source: str | None = None) -> None:
        self.path = Path(path)
        self.source = source
        self._file = open_results(self.path)

    @property
    def partial_path(self) -> Path:
        """Where the lines are while the run goes on (a crash leaves them there)."""
        return self._file.temp or self.path

    def write(self, frame: Frame, faces: Faces) -> None:
        record = {"frame": frame.index, "time_s": round(frame.timestamp, 4), "faces": faces.to_records()}
        if self.source is not None:
            record = {"source": self.source, **record}
        self._file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()

    def discard(self) -> None:
        self._file.close(ok=False)


class _Stdout:
    """`--json -`: the same writes as a StreamingFile, on standard output (flushed, never closed)."""

    temp = None
    failed = False

    def __init__(self) -> None:
        self._fh = standard_output()

    def write(self, text: str) -> None:
        self._fh.write(text)
        self._fh.flush()

    def close(self, ok: bool = True) -> None:
        self._fh = None


def open_results(path: Path):
    """Where a JSON sink writes: stdout for `-`, else a StreamingFile committed on close."""
    return _Stdout() if str(path) == "-" else StreamingFile(path)
