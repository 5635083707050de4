"""Reading images the way real folders hold them: any extension, EXIF, alpha, 16-bit, gray.

A picture's size is read from its header before anything is decoded, and refused over a
pixel budget: a 2.6 MB PNG can declare 30000x30000 pixels and decode to gigabytes. Every
reader (CLI, evaluate, training, the web page) goes through `decode_image`, so all get it.
"""

from __future__ import annotations

import stat
from pathlib import Path

import cv2
import numpy as np

from facemask.core.config import DEFAULT_MAX_PIXELS
from facemask.core.env import env_number
from facemask.core.errors import FacemaskError
from facemask.io.imageheader import decoded_bytes_per_pixel, header_size

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"})
MAX_PIXELS_ENV = "FACEMASK_MAX_PIXELS"


MAX_PIXELS_LIMIT = 10**15  # --max-megapixels takes up to 1e9 MP


def pixel_budget() -> int:
    """Most pixels an image may declare: FACEMASK_MAX_PIXELS (set by `--max-megapixels`) or 50 MP.

    The value must be a finite number from 1 to 1e15: `1e400` (infinity), `nan` and the like are
    one error line, never an overflow deep inside a reader.
    """
    return int(env_number(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS, 1, MAX_PIXELS_LIMIT, "pixels"))


def looks_like_image(path: Path) -> bool:
    """True for known image suffixes in any case, and for odd suffixes like `.jpg_1088Wx1632H`."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    return any(suffix.startswith(s + "_") for s in IMAGE_SUFFIXES)


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Normalise depth and channels: 16-bit to 8-bit, gray to BGR, alpha composited on white.

    No full-size float copy is ever made: a 16-bit RGBA picture near the pixel budget would
    otherwise need several gigabytes on the way to 8-bit BGR.
    """
    if image.dtype == np.uint16:
        image = cv2.convertScaleAbs(image, alpha=1 / 257)  # rounds to nearest, straight to uint8
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return _on_white(image)
    return image


def _on_white(bgra: np.ndarray, rows: int = 256) -> np.ndarray:
    """Alpha over white in integer arithmetic, a block of rows at a time: round((c*a + 255*(255-a)) / 255)."""
    out = np.empty(bgra.shape[:2] + (3,), np.uint8)
    for y in range(0, bgra.shape[0], rows):
        block = bgra[y : y + rows]
        alpha = block[:, :, 3:4].astype(np.uint16)
        out[y : y + rows] = (block[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255  # at most 65152
    return out


def decode_image(data: bytes, name: str = "image", max_pixels: int | None = None) -> np.ndarray:
    """Decode bytes by content (not by extension), honouring EXIF orientation.

    The header's width and height are checked against `max_pixels` (default: `pixel_budget()`)
    first; a format whose size cannot be read from its header is not decoded at all.
    """
    if not data:
        raise FacemaskError(f"{name}: file is empty")
    check_pixels(data, name, pixel_budget() if max_pixels is None else max_pixels)
    buf = np.frombuffer(data, np.uint8)
    try:
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise FacemaskError(f"{name}: not a readable image (corrupt or unsupported format)")
    image = to_bgr8(image)
    orientation = _exif_orientation(buf)
    return _apply_orientation(image, orientation) if orientation else image


SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))  # endless or live files, never user images


def check_regular(path: Path, limit: int, what: str) -> None:
    """A regular file (not a pipe, device or system file) of at most `limit` bytes, or FacemaskError: safe to open
    and read to its end."""
    try:
        info = path.stat()
        real = path.resolve()
    except FileNotFoundError:
        raise FacemaskError(f"{path}: no such file") from None
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise FacemaskError(f"{path}: is a folder, expected {what}")
    if not stat.S_ISREG(info.st_mode) or any(real.is_relative_to(tree) for tree in SYSTEM_TREES):
        raise FacemaskError(f"{path}: not a regular file (a pipe, socket, device or system file), expected {what}")
    if info.st_size > limit:
        raise FacemaskError(f"{path}: {info.st_size / 2**20:.0f} MB is too big for {what}")


def read_bounded(path: str | Path, limit: int, what: str = "an image file") -> bytes:
    """A regular file's bytes, at most `limit` of them, or FacemaskError with a one-line reason.

    Every file the product reads as data comes through here: a FIFO would block for ever,
    /dev/zero never ends, /proc files claim 0 bytes and hold gigabytes.
    """
    path = Path(path)
    check_regular(path, limit, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > limit:
        raise FacemaskError(f"{path}: more than {limit / 2**20:.0f} MB, too big for {what}")
    return data


def read_image_bytes(path: str | Path, max_pixels: int | None = None) -> bytes:
    """An image file's bytes, bounded by what any image within the pixel budget can need."""
    budget = pixel_budget() if max_pixels is None else max_pixels
    return read_bounded(path, max_file_bytes(budget), "an image file within the pixel budget")


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as 8-bit BGR, or raise FacemaskError with a one-line reason."""
    budget = pixel_budget() if max_pixels is None else max_pixels
    return decode_image(read_image_bytes(path, budget), str(path), budget)


def max_file_bytes(max_pixels: int) -> int:
    """More bytes than any image within the budget needs (uncompressed 16-bit RGBA, plus metadata)."""
    return 8 * max_pixels + 16 * 2**20


def check_pixels(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse an image whose header declares more than `max_pixels`, or no readable size at all."""
    try:
        size = header_size(data)
    except OverflowError:
        raise FacemaskError(
            f"{name}: declares more pixels than any reader here accepts (a decompression bomb?)"
        ) from None
    if size is None:
        raise FacemaskError(f"{name}: not a readable image (corrupt or unsupported format)")
    w, h = size
    if w <= 0 or h <= 0:
        raise FacemaskError(f"{name}: not a readable image (header says {w}x{h} pixels)")
    per_pixel = decoded_bytes_per_pixel(data)
    cost = w * h * max(per_pixel, 3) // 3  # the budget counts pixels of 8-bit colour (3 bytes once decoded)
    if cost > max_pixels:
        what = (
            f"is {cost / 1e6:.0f} megapixels"
            if per_pixel <= 3
            else f"at {per_pixel} bytes a pixel "
            f"(16-bit or alpha) decodes like {cost / 1e6:.0f} megapixels of 8-bit colour"
        )
        raise FacemaskError(
            f"{name}: {w}x{h} {what}, over the {max_pixels / 1e6:g} MP limit "
            f"(raise it with --max-megapixels or {MAX_PIXELS_ENV})"
        )


def _exif_orientation(buf: np.ndarray) -> int:
    """EXIF orientation tag of a JPEG, or 0. IMREAD_UNCHANGED does not apply it, so we do."""
    if len(buf) < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        return 0
    data = buf.tobytes()
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, size = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\0\0":
            return _orientation_from_tiff(data[pos + 10 : pos + 2 + size])
        if marker == 0xDA:
            return 0
        pos += 2 + size
    return 0


def _orientation_from_tiff(tiff: bytes) -> int:
    if len(tiff) < 8:
        return 0
    order = "little" if tiff[:2] == b"II" else "big"
    offset = int.from_bytes(tiff[4:8], order)
    if offset + 2 > len(tiff):
        return 0
    count = int.from_bytes(tiff[offset : offset + 2], order)
    for i in range(count):
        entry = offset + 2 + 12 * i
        if entry + 12 > len(tiff):
            return 0
        if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
            return int.from_bytes(tiff[entry + 8 : entry + 10], order)
    return 0


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    ops = {
        2: lambda im: cv2.flip(im, 1),
        3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
        4: lambda im: cv2.flip(im, 0),
        5: lambda im: cv2.flip(cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE), 1),
        6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
        7: lambda im: cv2.flip(cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE), 1),
        8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    op = ops.get(orientation)
    return op(image) if op else image
