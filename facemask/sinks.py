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
from facemask.safeio import StreamingFile, commit, discard, prepare_dest, temp_path_for, write_bytes, write_error
from facemask.types import Faces, Frame
from facemask.videowriter import open_video_writer

log = logging.getLogger(__name__)

QUIT_KEYS = (ord("q"), ord("Q"), 27)  # Esc


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
        commit(temp, prepare_dest(self.path))
        log.info("wrote %d frames to %s", self.frames, self.path)


def _frames_readable(path: Path) -> int:
    """Frames a reader finds in a just-written video; 0 when it does not open (no index: cut short)."""
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()


class JsonlSink(Sink):
    """One JSON line per processed frame, flushed at once so a crash loses nothing already seen."""

    needs_image = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = open_results(self.path)

    @property
    def partial_path(self) -> Path:
        """Where the lines are while the run goes on (a crash leaves them there)."""
        return self._file.temp or self.path

    def write(self, frame: Frame, faces: Faces) -> None:
        record = {"frame": frame.index, "time_s": round(frame.timestamp, 4), "faces": faces.to_records()}
        self._file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()


def result_entry(source: str, width: int, height: int, faces: Faces) -> dict:
    """One image's entry in the results document: where it came from, its size and its faces."""
    return {"source": source, "width": int(width), "height": int(height), "faces": faces.to_records()}


def results_document(entries: list[dict], skipped: list[dict] | None = None) -> dict:
    """The image-batch results document: `{"results": [entry...], "skipped": [{source, error}...]}`.

    `skipped=None` leaves that list out (the web page lists failed uploads on the page instead).
    `JsonResultsSink` streams this same document.
    """
    return {"results": entries} if skipped is None else {"results": entries, "skipped": skipped}


class JsonResultsSink:
    """The image-batch `results_document`, streamed entry by entry.

    Entries are written as they come (nothing is held in memory) and `close()` ends the
    document, so the file is valid JSON even when the batch stops early.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = open_results(self.path)
        self._file.write('{"results": [')
        self._count = 0
        self._skipped: list[dict] = []  # only the failures, so small

    def skip(self, source: str, error: str) -> None:
        """An image that could not be read, listed under `"skipped"` when the document closes."""
        self._skipped.append({"source": source, "error": error})

    def write(self, source: str, image: np.ndarray, faces: Faces) -> None:
        entry = result_entry(source, image.shape[1], image.shape[0], faces)
        self._file.write(("\n  " if self._count == 0 else ",\n  ") + json.dumps(entry))
        self._count += 1

    def close(self) -> None:
        if not self._file.failed and self._file._fh is not None:
            skipped = ",\n  ".join(json.dumps(entry) for entry in self._skipped)
            self._file.write('\n], "skipped": [' + (f"\n  {skipped}\n" if skipped else "") + "]}\n")
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Stdout:
    """`--json -`: the same writes as a StreamingFile, on standard output (flushed, never closed)."""

    temp = None
    failed = False

    def __init__(self) -> None:
        self._fh = sys.stdout

    def write(self, text: str) -> None:
        self._fh.write(text)
        self._fh.flush()

    def close(self, ok: bool = True) -> None:
        self._fh = None


def open_results(path: Path):
    """Where a JSON sink writes: stdout for `-`, else a StreamingFile committed on close."""
    return _Stdout() if str(path) == "-" else StreamingFile(path)


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
        write_bytes(dest, data.tobytes())
        self.written += 1
        return dest
