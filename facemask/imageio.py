"""Reading images the way real folders hold them: any extension, EXIF, alpha, 16-bit, gray."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facemask.errors import FacemaskError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"})


def looks_like_image(path: Path) -> bool:
    """True for known image suffixes in any case, and for odd suffixes like `.jpg_1088Wx1632H`."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    return any(suffix.startswith(s + "_") for s in IMAGE_SUFFIXES)


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Normalise depth and channels: 16-bit to 8-bit, gray to BGR, alpha composited on white."""
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Decode bytes by content (not by extension), honouring EXIF orientation."""
    if not data:
        raise FacemaskError(f"{name}: file is empty")
    buf = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise FacemaskError(f"{name}: not a readable image (corrupt or unsupported format)")
    image = to_bgr8(image)
    orientation = _exif_orientation(buf)
    return _apply_orientation(image, orientation) if orientation else image


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as 8-bit BGR, or raise FacemaskError with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise FacemaskError(f"{path}: no such file")
    if path.is_dir():
        raise FacemaskError(f"{path}: is a folder, expected an image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_image(data, str(path))


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
