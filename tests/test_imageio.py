from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error, facemask_argv, run_isolated
from nasty_files import image, photo_folder, plain_video, png_bomb, two_class_dataset

from facemask.core.errors import FacemaskError
from facemask.io.imageio import looks_like_image, read_bounded, read_image, read_image_bytes


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


# ------------------------------------------------------- decompression bombs: refused from the header, in little memory


def test_bomb_peak_memory_in_the_cli(tmp_path, tiny_model):
    """The 30000x30000 PNG is refused from its header: the whole CLI run peaks far below 500 MB."""
    bomb = png_bomb(tmp_path / "bomb.png")
    peak_mb, child = _child_peak_mb(facemask_argv("detect", bomb, "--no-display", "--model", tiny_model))
    assert child["returncode"] == 2 and "over the 50 MP limit" in child["stderr"], child
    assert peak_mb < 500, peak_mb


def test_bomb_peak_memory_in_the_page(tmp_path, tiny_model):
    """The page's photo path (`analyze_photos`, Streamlit's own upload object aside) with the bomb upload."""
    pytest.importorskip("streamlit")
    bomb = png_bomb(tmp_path / "bomb.png")
    script = f"""
import resource, sys
from facemask.app.page import analyze_photos
from facemask.app.settings import Settings
class Upload:
    name, file_id = "bomb.png", "1"
    def __init__(self, data): self.data, self.size = data, len(data)
    def getvalue(self): return self.data
data = open({str(bomb)!r}, "rb").read()
out = analyze_photos([Upload(data)], Settings({str(tiny_model)!r}, 0.5, 0.5, 200, 30.0))
assert isinstance(out[0], str) and "over the 50 MP limit" in out[0], out
"""
    peak_mb, child = _child_peak_mb([sys.executable, "-c", script])
    assert child["returncode"] == 0, child["stderr"][-2000:]
    assert peak_mb < 500, peak_mb


def _child_peak_mb(cmd: list[str]) -> tuple[int, dict]:
    """Peak RSS of one command, measured by a small fresh parent.

    Linux carries a process's peak RSS across fork and exec, so a command started straight from
    pytest (TensorFlow loaded: ~900 MB) would report pytest's peak, not its own.
    """
    probe = (
        "import json, resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(json.dumps({'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, "
        "'returncode': p.returncode, 'stderr': p.stderr}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *cmd],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=HEADLESS,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result.pop("peak_mb"), result


# ---------------------------------------------------------------- FACEMASK_MAX_PIXELS out of range


MAX_PIXELS = "FACEMASK_MAX_PIXELS"


@pytest.mark.parametrize("value", ["1e400", "-1e400", "nan", "inf", "1e16", "0.5"])
@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_a_bad_max_pixels_variable_is_one_line(tmp_path, tiny_model, value, what):
    source = {"image": lambda: image(tmp_path / "p.jpg"), "folder": lambda: photo_folder(tmp_path)}.get(
        what, lambda: plain_video(tmp_path)
    )()
    proc = run_isolated("detect", source, "--no-display", "--model", tiny_model, env={**HEADLESS, MAX_PIXELS: value})
    assert_one_error(proc, f"{MAX_PIXELS}={value!r}: must be a number of pixels from 1 to 1e+15", code=2)


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_bad_max_pixels_variable_is_one_line_for_every_reader(tmp_path, tiny_model, command):
    data = two_class_dataset(tmp_path)
    args = ["evaluate", data, "--model", tiny_model] if command == "evaluate" else ["train", "--dataset", data]
    if command == "train":
        args += ["--output", tmp_path / "run", "--epochs", "1"]
    proc = run_isolated(*args, env={**HEADLESS, MAX_PIXELS: "1e400"})
    assert_one_error(proc, f"{MAX_PIXELS}='1e400': must be a number of pixels", code=2)
    assert not (tmp_path / "run").exists()


def test_pixel_budget_accepts_the_range_and_refuses_the_rest(monkeypatch):
    from facemask.core.errors import FacemaskError
    from facemask.io.imageio import pixel_budget

    for text, expected in (("1", 1), ("2.5e7", 25_000_000), ("1e15", 10**15), (" 40 ", 40)):
        monkeypatch.setenv(MAX_PIXELS, text)
        assert pixel_budget() == expected
    for text in ("1e400", "nan", "0", "1e15000", "lots"):
        monkeypatch.setenv(MAX_PIXELS, text)
        with pytest.raises(FacemaskError, match=MAX_PIXELS):
            pixel_budget()


# ---------------------------------------------------------------- reads bounded by size, never of system files


def test_reads_are_bounded_by_size_not_by_trust(tmp_path):
    """Bad 7's rule: a file larger than the cap is refused from its size, without reading it."""
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: 3 GB declared, nothing on disk
    with pytest.raises(FacemaskError, match="too big"):
        read_image_bytes(big)
    with pytest.raises(FacemaskError, match="too big"):
        read_bounded(tmp_path / "big.jpg", 1024)


@pytest.mark.parametrize("path", ["/proc/self/pagemap", "/proc/self/status", "/dev/zero"])
def test_system_files_are_never_read(path):
    with pytest.raises(FacemaskError, match="not a regular file"):
        read_bounded(path, 2**20)


def test_a_fifo_is_never_opened(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(FacemaskError, match="not a regular file"):
        read_bounded(fifo, 2**20)
