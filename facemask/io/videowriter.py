"""Encoding an annotated video file: H.264 where browsers need it, OpenCV's encoders otherwise.

OpenCV's wheels carry an FFmpeg without an H.264 encoder, so their `.mp4` is MPEG-4 Part 2
(`mp4v`), which Chromium and Firefox refuse to play. PyAV's wheels carry libx264, so `.mp4`,
`.mov`, `.m4v` and `.mkv` are written as H.264 (yuv420p, moov atom first) through PyAV.
When PyAV or its libx264 is missing the writer falls back to `mp4v` with one warning that
names the codec used. `.avi` stays Motion JPEG, written through PyAV so odd sizes (641x481)
are kept exactly (OpenCV's writer drops a row and a column); H.264 needs even sides, so an
odd-sized `.mp4` is padded by one replicated row or column.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from facemask.core.errors import FacemaskError

log = logging.getLogger(__name__)

H264_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")
OPENCV_FOURCC = {".avi": "MJPG"}  # anything else OpenCV writes: mp4v
H264_OPTIONS = {"crf": "23", "preset": "veryfast"}  # near-transparent for annotated webcam video, cheap on a CPU


class H264Writer:
    """libx264 through PyAV. Frames are BGR uint8 of one size; odd sizes are padded to even."""

    codec = "h264"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import av

        self.path = path
        self.size = size
        width, height = size[0] + size[0] % 2, size[1] + size[1] % 2  # yuv420p needs even sides
        rate = Fraction(fps).limit_denominator(1001)
        # mp4/mov: the index first, so a browser plays the file while it loads
        faststart = {"movflags": "faststart"} if path.suffix.lower() != ".mkv" else {}
        self._container = av.open(str(path), mode="w", options=faststart)
        try:
            stream = self._container.add_stream("libx264", rate=rate, options=dict(H264_OPTIONS))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self._time_base = 1 / rate
        self._pad = (height - size[1], width - size[0])
        self._count = 0

    def write(self, image: np.ndarray) -> None:
        import av

        if any(self._pad):
            image = cv2.copyMakeBorder(image, 0, self._pad[0], 0, self._pad[1], cv2.BORDER_REPLICATE)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts, frame.time_base = self._count, self._time_base
        self._container.mux(self._stream.encode(frame))
        self._count += 1

    def close(self) -> None:
        """Flush the encoder and write the index; the file plays once this returns."""
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()


class MjpegWriter(H264Writer):
    """Motion JPEG in AVI through PyAV, at any size: OpenCV's writer silently drops an odd row and column."""

    codec = "MJPG"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import av

        self.path, self.size = path, size
        rate = Fraction(fps).limit_denominator(1001)
        self._container = av.open(str(path), mode="w")
        try:
            stream = self._container.add_stream("mjpeg", rate=rate)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuvj420p"
        except Exception:
            self._container.close()
            raise
        self._stream, self._time_base, self._pad, self._count = stream, 1 / rate, (0, 0), 0


class OpenCVWriter:
    """`cv2.VideoWriter` with the FourCC for the file's extension."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], name: Path | None = None) -> None:
        self.codec = OPENCV_FOURCC.get(path.suffix.lower(), "mp4v")
        self.path, self.size = path, size
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*self.codec), fps, size)
        if not self._writer.isOpened():
            raise FacemaskError(f"{name or path}: cannot write video (unsupported extension or codec?)")

    def write(self, image: np.ndarray) -> None:
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()


def _pyav_has(codec: str) -> bool:
    try:
        import av
    except ImportError:
        return False
    return codec in av.codecs_available


def h264_unavailable() -> str | None:
    """Why H.264 cannot be written here, or None when it can."""
    try:
        import av
    except ImportError:
        return "PyAV is not installed"
    if "libx264" not in av.codecs_available:
        return "this PyAV build has no libx264"
    return None


def open_video_writer(
    path: Path, fps: float, size: tuple[int, int], name: Path | None = None
) -> H264Writer | MjpegWriter | OpenCVWriter:
    """The best writer for `path`'s extension; warns once, naming the codec, when H.264 is not possible.

    `name` is the file the user asked for, for messages, when `path` is a temporary file beside it.
    """
    path = Path(path)
    if path.suffix.lower() == ".avi" and _pyav_has("mjpeg"):
        try:
            return MjpegWriter(path, fps, size)
        except Exception as exc:  # noqa: BLE001 - OpenCV's MJPG is the fallback (even sizes only)
            log.info("%s: PyAV's MJPEG failed to open (%s); using OpenCV's", name or path, exc)
    if path.suffix.lower() not in H264_SUFFIXES:
        return OpenCVWriter(path, fps, size, name)
    why = h264_unavailable()
    if why is None:
        try:
            return H264Writer(path, fps, size)
        except Exception as exc:  # noqa: BLE001 - any encoder failure falls back to OpenCV, said once
            why = f"libx264 failed to open ({exc})"
    log.warning(
        "warning: %s: H.264 unavailable (%s); writing MPEG-4 Part 2 (mp4v), which browsers may not play",
        name or path,
        why,
    )
    return OpenCVWriter(path, fps, size, name)
