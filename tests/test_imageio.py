from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facemask.core.errors import FacemaskError
from facemask.io.imageio import looks_like_image, read_image


def _pattern() -> np.ndarray:
    """A 20x40 BGR image whose left half is blue and right half red: orientation is visible."""
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = (255, 0, 0)
    img[:, 20:] = (0, 0, 255)
    return img


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.png", "a.webp", "a.bmp", "a.PNG"])
def test_reads_common_formats_in_any_case(tmp_path, name):
    path = tmp_path / name
    ext = "." + name.split(".")[-1].lower()
    ok, buf = cv2.imencode(ext, _pattern())
    path.write_bytes(buf.tobytes())
    img = read_image(path)
    assert img.shape == (20, 40, 3) and img.dtype == np.uint8
    assert img[10, 5, 0] > 200 and img[10, 35, 2] > 200


def test_odd_extension_read_by_content(tmp_path):
    path = tmp_path / "photo.jpg_1088Wx1632H"
    path.write_bytes(cv2.imencode(".jpg", _pattern())[1].tobytes())
    assert looks_like_image(path)
    assert read_image(path).shape == (20, 40, 3)


def test_grayscale_becomes_three_channels(tmp_path):
    path = tmp_path / "g.png"
    cv2.imwrite(str(path), np.full((10, 10), 77, np.uint8))
    img = read_image(path)
    assert img.shape == (10, 10, 3) and (img == 77).all()


def test_sixteen_bit_is_scaled_to_eight(tmp_path):
    path = tmp_path / "d.png"
    cv2.imwrite(str(path), np.full((8, 8, 3), 65535, np.uint16))
    img = read_image(path)
    assert img.dtype == np.uint8 and (img == 255).all()


def test_alpha_is_composited_on_white(tmp_path):
    path = tmp_path / "a.png"
    bgra = np.zeros((8, 8, 4), np.uint8)
    bgra[:, :4] = (0, 0, 0, 255)  # opaque black
    bgra[:, 4:] = (0, 0, 0, 0)  # fully transparent
    cv2.imwrite(str(path), bgra)
    img = read_image(path)
    assert (img[:, :4] == 0).all() and (img[:, 4:] == 255).all()


def test_exif_orientation_is_applied(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "rot.jpg"
    pil = Image.fromarray(cv2.cvtColor(_pattern(), cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    pil.save(path, exif=exif, quality=95)
    img = read_image(path)
    assert img.shape[:2] == (40, 20)
    assert img[5, 10, 0] > 200  # blue (the left half) is now on top


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is not an image", "not a readable image"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 50, "not a readable image"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(FacemaskError, match=message):
        read_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FacemaskError, match="no such file"):
        read_image(tmp_path / "missing.jpg")
    with pytest.raises(FacemaskError, match="is a folder"):
        read_image(tmp_path)


def test_alpha_over_white_in_blocks_matches_the_float_formula():
    from facemask.io.imageio import to_bgr8

    bgra = np.random.default_rng(1).integers(0, 256, (300, 7, 4), np.uint8)  # 300 rows: crosses a block edge
    alpha = bgra[:, :, 3:4] / 255.0
    expected = np.round(bgra[:, :, :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    assert np.array_equal(to_bgr8(bgra), expected)


def test_sixteen_bit_rounds_to_nearest():
    from facemask.io.imageio import to_bgr8

    deep = np.random.default_rng(2).integers(0, 65536, (50, 40, 3), np.uint16)
    assert np.array_equal(to_bgr8(deep), np.round(deep / 257.0).astype(np.uint8))


@pytest.mark.parametrize(
    ("channels", "depth", "ok"), [(3, np.uint8, True), (4, np.uint8, False), (3, np.uint16, False)]
)
def test_pixel_budget_counts_what_decoding_costs(tmp_path, channels, depth, ok):
    """100x100 fits a 10,000-pixel budget as 8-bit colour; with alpha or 16 bits it decodes bigger and is refused."""
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), np.zeros((100, 100, channels), depth))
    if ok:
        assert read_image(path, max_pixels=10_000).shape == (100, 100, 3)
    else:
        with pytest.raises(FacemaskError, match="bytes a pixel .* over the 0.01 MP limit"):
            read_image(path, max_pixels=10_000)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_only_regular_files_are_read(tmp_path, kind):
    import os

    path = tmp_path / "x.jpg"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(FacemaskError, match="not a regular file"):
        read_image(path)
