"""Inputs built on the spot to break a reader: decompression bombs, FIFOs, model copies with
changed cards or bytes, nested JSON, and small plain videos, photo folders and datasets."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from conftest import card_of
from video_fixtures import write_video


def png_bomb(path: Path, side: int = 30000, depth: int = 1, colour: int = 0) -> Path:
    """A complete, valid PNG of side x side pixels, all zeros: 1-bit gray by default, ~110 kB on disk
    and 900 MB once decoded as 8-bit. `depth=16, colour=6` makes 16-bit RGBA (8 bytes a pixel)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    comp = zlib.compressobj(6)
    rows = (b"\0" * (1 + (side * channels * depth + 7) // 8)) * 100
    idat = b"".join(comp.compress(rows) for _ in range(side // 100)) + comp.flush()
    header = struct.pack(">IIBBBBB", side, side, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def jpeg_bomb(path: Path, side: int = 65000) -> Path:
    """A JPEG whose frame header declares side x side pixels (4.2 gigapixels) on a few bytes."""
    _, buf = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))
    return path


def tiff_bomb(path: Path, side: int = 60000) -> Path:
    """An 8x8 TIFF whose first IFD claims side x side pixels."""
    from PIL import Image

    Image.new("1", (8, 8)).save(path, format="TIFF")
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    for i in range(struct.unpack(order + "H", data[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            data[entry + 8 : entry + (10 if kind == 3 else 12)] = struct.pack(order + ("H" if kind == 3 else "I"), side)
    path.write_bytes(bytes(data))
    return path


def image(path: Path, size: tuple[int, int] = (40, 40)) -> Path:
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), 128, np.uint8))
    return path


def model_copy(
    tiny_model: Path, folder: Path, card=None, data: bytes | None = None, raw_card: bytes | None = None
) -> Path:
    """The tiny model (or other bytes) beside a card: its own, changed, or raw bytes."""
    folder.mkdir(exist_ok=True)
    dest = folder / "m.tflite"
    dest.write_bytes(tiny_model.read_bytes() if data is None else data)
    if raw_card is not None:
        dest.with_suffix(".json").write_bytes(raw_card)
    else:
        dest.with_suffix(".json").write_text(json.dumps(card_of(tiny_model) if card is None else card))
    return dest


def flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


def nested_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def plain_video(tmp: Path, name: str = "clip.mp4", **kw) -> Path:
    write_video(tmp / name, frames=kw.pop("frames", 12), with_face=False, **kw)
    return tmp / name


def photo_folder(tmp: Path) -> Path:
    folder = tmp / "photos"
    folder.mkdir()
    image(folder / "a.jpg")
    image(folder / "b.png")
    return folder


def fifo(tmp: Path, name: str) -> Path:
    os.mkfifo(tmp / name)
    return tmp / name


def two_class_dataset(tmp: Path, corrupt_class: str | None = None, per_class: int = 2) -> Path:
    root = tmp / "data"
    for cls, value in (("with_mask", 200), ("without_mask", 40)):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            if cls == corrupt_class:
                (root / cls / f"{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
            else:
                cv2.imwrite(str(root / cls / f"{i}.png"), np.full((48, 48, 3), value, np.uint8))
    return root
