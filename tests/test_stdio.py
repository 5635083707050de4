"""Standard output and error: JSON written to stdout, descriptors closed at start, and no native
library noise unless `-v`."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error, facemask_argv, fingerprint, partial_files, run_isolated
from nasty_files import image, photo_folder, plain_video
from video_fixtures import face_patch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- JSON on standard output


def test_json_to_dev_stdout_is_written_in_place(tmp_path, tiny_model):
    """/dev/stdout (a pipe here) cannot be renamed over: it is written directly, and nothing is created in /dev."""
    clip = plain_video(tmp_path, frames=5)
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, "--json", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(line)["frame"] for line in proc.stdout.splitlines() if line.startswith('{"frame"')]
    assert frames == list(range(5))
    assert not list(Path("/dev").glob("stdout*.partial-*")) and not Path("/dev/stdout_summary.json").exists()


# ---------------------------------------------------------------- standard output or error closed


def _closed_stdout(*args, close: str = "stdout") -> subprocess.CompletedProcess:
    """The command as `facemask ARGS >&-` (or `2>&-`): started with that descriptor closed."""
    fd = 1 if close == "stdout" else 2
    keep = subprocess.PIPE
    proc = subprocess.Popen(
        ["/bin/sh", "-c", f'exec "$@" {fd}>&-', "sh", *facemask_argv(*args)],
        cwd=REPO,
        env=HEADLESS,
        stdout=keep if fd == 2 else None,
        stderr=keep if fd == 1 else None,
        text=True,
        start_new_session=True,
    )
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out or "", err or "")


@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_json_to_a_closed_stdout_is_one_error(tmp_path, tiny_model, what):
    source = {"image": lambda: image(tmp_path / "p.jpg"), "folder": lambda: photo_folder(tmp_path)}.get(
        what, lambda: plain_video(tmp_path)
    )()
    before = fingerprint(tmp_path)
    proc = _closed_stdout("detect", source, "--no-display", "--model", tiny_model, "--json", "-")
    assert_one_error(proc, "--json -: standard output is closed", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


@pytest.mark.parametrize("verbose", [(), ("-v",)], ids=["quiet", "verbose"])
def test_a_run_started_without_stderr_still_works(tmp_path, tiny_model, verbose):
    """Started with `2>&-`: no crash on a missing sys.stderr, and the JSON file (which would otherwise
    take descriptor 2) gets only its own lines, never native messages."""
    clip = plain_video(tmp_path, frames=6)
    jsonl = tmp_path / "f.jsonl"
    proc = _closed_stdout(
        "detect", clip, "--no-display", "--model", tiny_model, "--json", jsonl, *verbose, close="stderr"
    )
    assert proc.returncode == 0, proc.stdout
    assert "error" not in proc.stdout
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(6))


def test_standard_output_refuses_a_closed_descriptor(monkeypatch):
    from facemask.core.errors import FacemaskError
    from facemask.io.stdio import standard_output

    monkeypatch.setattr("sys.stdout", None)
    with pytest.raises(FacemaskError, match="standard output is closed"):
        standard_output()
    read, write = os.pipe()
    stream = os.fdopen(write, "w")
    os.close(read)
    os.close(write)  # the descriptor behind the stream is gone
    monkeypatch.setattr("sys.stdout", stream)
    with pytest.raises(FacemaskError, match="standard output is closed"):
        standard_output()


# ---------------------------------------------------------------- native noise without -v


NATIVE_NOISE = ("libpng", "[h264 @", "XNNPACK", "INFO:", "oneDNN", "cuda", "WARNING: All log messages")


def _png_with_bad_icc(path: Path) -> Path:
    """A valid PNG carrying an iCCP chunk libpng warns about ("iCCP: too short") every time it is read."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    picture = face_patch(160)
    picture = np.full((160, 160, 3), 150, np.uint8) if picture is None else picture
    data = cv2.imencode(".png", picture)[1].tobytes()
    ihdr_end = 8 + 25  # signature, then IHDR (length, tag, 13 bytes, CRC)
    path.write_bytes(data[:ihdr_end] + chunk(b"iCCP", b"bad\0\0" + zlib.compress(b"not a profile")) + data[ihdr_end:])
    return path


def _h264_with_damage(path: Path, frames: int = 30) -> Path:
    """An H.264 MP4 with a few slices overwritten: it plays to the end, and FFmpeg complains on the way."""
    av = pytest.importorskip("av")
    from video_fixtures import synthetic_frame

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, face=face_patch()), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 4, len(data) * 3 // 4, len(data) // 10):
        data[offset : offset + 8] = b"\x00\x00\x01\x65\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("what", ["image", "folder", "video"])
def test_detect_prints_no_native_noise_unless_verbose(tmp_path, tiny_model, what):
    if what == "video":
        source = _h264_with_damage(tmp_path / "damaged.mp4")
        noise = "[h264 @"
    else:
        source = _png_with_bad_icc(tmp_path / "icc.png")
        noise = "libpng warning"
        if what == "folder":
            folder = tmp_path / "photos"
            folder.mkdir()
            source = Path(source.rename(folder / source.name)).parent
    args = ["detect", source, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json"]
    loud = run_isolated(*args, "-v")
    assert loud.returncode == 0, loud.stderr
    assert noise in loud.stderr, "the input no longer makes native noise: the check below would prove nothing"
    quiet = run_isolated(*args)
    assert quiet.returncode == 0, quiet.stderr
    assert not [word for word in NATIVE_NOISE if word in quiet.stderr], quiet.stderr
