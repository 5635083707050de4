"""Image-batch outputs: the JSON results document and the annotated copies.

Both take `write(frame, faces)` like every sink. `frame.name` is the image's name (its path
as given), which the document records; `frame.index` is its place in the batch, which picks
the annotated copy's path under the output folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.io.imageio import IMAGE_SUFFIXES
from facemask.io.safeio import write_bytes
from facemask.sinks.base import Sink, open_results


def result_entry(source: str, width: int, height: int, faces: Faces) -> dict:
    """One image's entry in the results document: where it came from, its size and its faces."""
    return {"source": source, "width": int(width), "height": int(height), "faces": faces.to_records()}


def results_document(entries: list[dict], skipped: list[dict] | None = None) -> dict:
    """The image-batch results document: `{"results": [entry...], "skipped": [{source, error}...]}`.

    `skipped=None` leaves that list out (the web page lists failed uploads on the page instead).
    `JsonResultsSink` streams this same document.
    """
    return {"results": entries} if skipped is None else {"results": entries, "skipped": skipped}


def _name(frame: Frame) -> str:
    if frame.name is None:
        raise ValueError(f"frame {frame.index} has no name; image-batch outputs need one")
    return frame.name


class JsonResultsSink(Sink):
    """The image-batch `results_document`, streamed entry by entry.

    Entries are written as they come (nothing is held in memory) and `close()` ends the
    document, so the file is valid JSON even when the batch stops early.
    """

    needs_image = False  # the size is all it takes from the picture

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = open_results(self.path)
        self._file.write('{"results": [')
        self._count = 0
        self._skipped: list[dict] = []  # only the failures, so small

    def skip(self, source: str, error: str) -> None:
        """An image that could not be read, listed under `"skipped"` when the document closes."""
        self._skipped.append({"source": source, "error": error})

    def write(self, frame: Frame, faces: Faces) -> None:
        height, width = frame.image.shape[:2]
        entry = result_entry(_name(frame), width, height, faces)
        self._file.write(("\n  " if self._count == 0 else ",\n  ") + json.dumps(entry))
        self._count += 1

    def discard(self) -> None:
        self._file.close(ok=False)

    def close(self) -> None:
        if not self._file.failed and self._file._fh is not None:
            skipped = ",\n  ".join(json.dumps(entry) for entry in self._skipped)
            self._file.write('\n], "skipped": [' + (f"\n  {skipped}\n" if skipped else "") + "]}\n")
        self._file.close()


MAX_SIDE = {".jpg": ("JPEG", 65535), ".jpeg": ("JPEG", 65535), ".webp": ("WebP", 16383)}  # PNG, BMP: any size read


def encode_problem(suffix: str, width: int, height: int) -> str | None:
    """Why a picture this size cannot be written in this format (a 100000x1 strip has no JPEG), or None."""
    name, limit = MAX_SIDE.get(suffix.lower(), ("", 0))
    if not limit or max(width, height) <= limit:
        return None
    return f"a {width}x{height} image cannot be written as {suffix} ({name} stops at {limit} px a side; use .png)"


def output_name(relative: Path) -> Path:
    """Keep the name; odd suffixes (`.jpg_1088Wx1632H`, `.JPG`) become a writable lowercase one."""
    suffix = relative.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return relative.with_suffix(suffix)
    return relative.with_name(relative.name + ".jpg")


class AnnotatedImageSink(Sink):
    """Annotated copies of images under an output folder, mirroring the input's sub-folders.

    `relatives[i]` is where the batch's image `i` (`frame.index`, as `io.images.ImageSource`
    numbers them) goes under the folder, e.g. `sub/a.jpg` for `photos/sub/a.jpg` of the folder
    `photos/`. By index, not by name: a file listed both alone and inside a listed folder is
    written to both places. Without it, a copy keeps the file name of `frame.name`.
    """

    def __init__(self, out_dir: Path, relatives: Sequence[Path] | None = None) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise FacemaskError(f"{self.out_dir}: exists and is not a folder (--output takes a folder for images)")
        self.relatives = list(relatives) if relatives is not None else None
        self.written = 0
        self.failed = 0
        # In a batch, one copy that cannot be written (a 100000x1 picture has no JPEG) is reported here
        # and the batch goes on; without a callback (one image alone) it is the run's error.
        self.on_error: Callable[[Frame, FacemaskError], None] | None = None

    def destination(self, frame: Frame) -> Path:
        """Where the annotated copy of this image goes."""
        relative = Path(_name(frame)).name if self.relatives is None else self.relatives[frame.index]
        return self.out_dir / output_name(Path(relative))

    def write(self, frame: Frame, faces: Faces) -> Path | None:
        """Encode and write `frame.image` (the annotated picture); returns the file written."""
        dest = self.destination(frame)
        height, width = frame.image.shape[:2]
        ok, why = False, encode_problem(dest.suffix, width, height)
        if why is None:
            try:
                ok, data = cv2.imencode(dest.suffix, frame.image)
            except cv2.error:
                ok = False
        if not ok:  # this picture cannot be encoded in its format: skip it (in a batch); a full disk stops the run
            exc = FacemaskError(f"{dest}: {why or f'cannot encode a {width}x{height} image'}")
            if self.on_error is None:
                raise exc
            self.failed += 1
            self.on_error(frame, exc)
            return None
        write_bytes(dest, data.tobytes())
        self.written += 1
        return dest
