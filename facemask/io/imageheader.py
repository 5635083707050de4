"""An image's size and decoded depth read from its header alone, before anything is decoded.

PNG, JPEG, GIF, BMP and WebP are parsed here in a few lines each; other formats (TIFF, PNM...)
go through Pillow, which reads headers lazily. `imageio.check_pixels` turns these into the
pixel budget, so a 110 kB PNG that declares 30000x30000 pixels is refused, never decoded.
"""

from __future__ import annotations

import struct
import warnings
from io import BytesIO


def decoded_bytes_per_pixel(data: bytes) -> int:
    """Bytes a pixel takes once decoded unchanged (16-bit and alpha cost more); 3 when the header does not say."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            depth, colour = data[24], data[25]
            channels = {0: 1, 2: 3, 3: 4, 4: 4, 6: 4}.get(colour, 4)  # palette and gray+alpha may decode to BGRA
            return channels * (2 if depth == 16 else 1)
        if data[:2] == b"BM":
            return 4 if struct.unpack("<H", data[28:30])[0] == 32 else 3
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return 3 if data[12:16] == b"VP8 " else 4
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return 4
    except (struct.error, IndexError):
        return 3
    return 3 if data[:2] == b"\xff\xd8" else _pillow_bytes_per_pixel(data)


def _pillow_bytes_per_pixel(data: bytes) -> int:
    try:
        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(BytesIO(data)) as im:
                bands = len(im.getbands())
                wide = any(tag in im.mode for tag in ("16", "I", "F"))
    except Exception:  # noqa: BLE001 - the size check has already read this header
        return 3
    return bands * (2 if wide else 1)


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header alone, without decoding; None when it cannot be read."""
    for parse in (_png_size, _jpeg_size, _gif_size, _bmp_size, _webp_size):
        try:
            size = parse(data)
        except (struct.error, IndexError, ValueError):
            return None
        if size is not None:
            return size
    return _pillow_size(data)


def _png_size(d: bytes) -> tuple[int, int] | None:
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    if d[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    return struct.unpack(">II", d[16:24])


def _jpeg_size(d: bytes) -> tuple[int, int] | None:
    """The first start-of-frame marker's size; None when it is not a JPEG, ValueError when there is none."""
    if d[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(d):
        if d[pos] != 0xFF:
            raise ValueError("bad marker")
        marker = d[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            pos += 2
            continue
        length = struct.unpack(">H", d[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", d[pos + 5 : pos + 9])
            return w, h
        if marker in (0xD9, 0xDA):
            break
        pos += 2 + length
    raise ValueError("no frame header")


def _gif_size(d: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", d[6:10]) if d[:6] in (b"GIF87a", b"GIF89a") else None


def _bmp_size(d: bytes) -> tuple[int, int] | None:
    if d[:2] != b"BM":
        return None
    if struct.unpack("<I", d[14:18])[0] == 12:  # OS/2 header: 16-bit sizes
        return struct.unpack("<HH", d[18:22])
    w, h = struct.unpack("<ii", d[18:26])
    return w, abs(h)


def _webp_size(d: bytes) -> tuple[int, int] | None:
    if d[:4] != b"RIFF" or d[8:12] != b"WEBP":
        return None
    chunk = d[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(d[24:27], "little"), 1 + int.from_bytes(d[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(d[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    raise ValueError("unknown WebP chunk")


def _pillow_size(data: bytes) -> tuple[int, int] | None:
    """Other formats (TIFF, PNM, ...): Pillow reads their headers lazily, without decoding."""
    try:
        from PIL import Image
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(BytesIO(data)) as im:
                return im.size
        except Image.DecompressionBombError:  # over 179 MP: Pillow refuses to say more
            raise OverflowError from None
        except Exception:  # noqa: BLE001 - Pillow raises many types for unknown or broken headers
            return None
