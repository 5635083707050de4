"""Where results go. Every sink has `write(...)` and `close()`, closes idempotently, and works in `with`.

Video sinks take `write(frame, faces)` where `frame.image` is the annotated picture, drawn
once by the pipeline and shared. Sinks with `needs_image = False` let the pipeline skip
drawing altogether. Image-batch sinks take the source name instead of a Frame.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from facemask.errors import FacemaskError
from facemask.imageio import IMAGE_SUFFIXES
from facemask.types import Faces, Frame

log = logging.getLogger(__name__)

QUIT_KEYS = (ord("q"), ord("Q"), 27)  # Esc
FOURCC = {".avi": "MJPG"}  # everything else: mp4v


class Sink:
    """Context-manager plumbing; `wants_stop` lets a sink (the window) end the run."""

    needs_image = True
    wants_stop = False

    def write(self, frame: Frame, faces: Faces) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds; a second call does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _open_text(path: Path):
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot write ({exc.strerror})") from None


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
    """An annotated video at the input's fps. Opened on the first frame, so its size is the frame's."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FacemaskError(f"{self.path.parent}: output folder does not exist")
        self.fps = fps
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: Frame, faces: Faces) -> None:
        image = frame.image
        if self._writer is None:
            self._open((image.shape[1], image.shape[0]))
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self._writer.write(image)
        self.frames += 1

    def _open(self, size: tuple[int, int]) -> None:
        fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(self.path.suffix.lower(), "mp4v"))
        writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, size)
        if not writer.isOpened():
            raise FacemaskError(f"{self.path}: cannot write video (unsupported extension or codec?)")
        self._writer, self.size = writer, size

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            log.info("wrote %d frames to %s", self.frames, self.path)


class JsonlSink(Sink):
    """One JSON line per processed frame, flushed at once so a crash loses nothing already seen."""

    needs_image = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh = _open_text(self.path)

    def write(self, frame: Frame, faces: Faces) -> None:
        if self._fh is None:
            raise FacemaskError(f"{self.path}: write after close")
        record = {"frame": frame.index, "time_s": round(frame.timestamp, 4), "faces": faces.to_records()}
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class JsonResultsSink:
    """The image-batch JSON document `{"results": [...]}`, streamed entry by entry.

    Entries are written as they come (nothing is held in memory) and `close()` ends the
    document, so the file is valid JSON even when the batch stops early.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh = _open_text(self.path)
        self._fh.write('{"results": [')
        self._count = 0

    def write(self, source: str, image: np.ndarray, faces: Faces) -> None:
        entry = {"source": source, "width": int(image.shape[1]), "height": int(image.shape[0]),
                 "faces": faces.to_records()}
        self._fh.write(("\n  " if self._count == 0 else ",\n  ") + json.dumps(entry))
        self._fh.flush()
        self._count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.write("\n]}\n")
            self._fh.close()
            self._fh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def output_name(relative: Path) -> Path:
    """Keep the name; odd suffixes (`.jpg_1088Wx1632H`, `.JPG`) become a writable lowercase one."""
    suffix = relative.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return relative.with_suffix(suffix)
    return relative.with_name(relative.name + ".jpg")


class AnnotatedImageSink:
    """Annotated copies of images under an output folder, mirroring the input's sub-folders."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise FacemaskError(f"{self.out_dir}: exists and is not a folder (--output takes a folder for images)")
        self.written = 0

    def write(self, relative: Path, annotated: np.ndarray) -> Path:
        dest = self.out_dir / output_name(relative)
        ok, data = cv2.imencode(dest.suffix, annotated)
        if not ok:
            raise FacemaskError(f"{dest}: cannot encode image")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data.tobytes())
        except OSError as exc:
            raise FacemaskError(f"{dest}: cannot write ({exc.strerror})") from None
        self.written += 1
        return dest
