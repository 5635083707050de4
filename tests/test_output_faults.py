"""Outputs that cannot be finished: a full disk, a kernel file, a source or image that fails,
a picture too wide for JPEG. One `error:` line, and no half-written file under a real name."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_error, error_lines, fingerprint, partial_files, run_facemask, run_isolated
from nasty_files import image, plain_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- disk full (a size-limited file, a small tmpfs)


@pytest.mark.parametrize("what", ["--json", "--output"])
def test_full_disk_on_video_outputs_is_one_error_and_no_file(tmp_path, tiny_model, what):
    clip = plain_video(tmp_path, frames=30)  # 30 JSON lines are ~1.3 kB, the video more
    dest = tmp_path / ("out.jsonl" if what == "--json" else "out.mp4")
    before = fingerprint(tmp_path)
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, what, dest, limit_bytes=600)
    assert_one_error(proc, "cannot write", code=2)
    assert "wrote" not in proc.stdout  # never reported as written
    assert not dest.exists() and not partial_files(tmp_path)
    assert fingerprint(tmp_path) == before


@pytest.fixture
def small_disk(tmp_path):
    """A real 128 kB filesystem (tmpfs), so a write fails with ENOSPC; skips where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("what", ["--json", "--output"])
def test_a_really_full_disk_is_one_error_and_leaves_it_empty(tmp_path, tiny_model, small_disk, what):
    clip = plain_video(tmp_path, frames=120)  # JSON Lines ~5.4 kB; the video more
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 124_000)  # 31 of the 32 pages: 4 kB left
    dest = small_disk / ("f.jsonl" if what == "--json" else "out.mp4")
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, what, dest)
    # The encoder may report ENOSPC on a write, or only leave a file that does not read back at close.
    assert_one_error(proc, "No space left on device" if what == "--json" else f"{dest}: cannot write", code=2)
    assert "wrote" not in proc.stdout.replace("wrote summary", "")  # the failed output is never reported
    left = sorted(p.name for p in small_disk.iterdir())
    assert left in (["filler"], ["f_summary.json", "filler"]), left  # the partial file is gone
    if "f_summary.json" in left:  # the run's summary (of the frames it did process) is whole JSON
        json.loads((small_disk / "f_summary.json").read_text())


def test_full_disk_on_image_batch_json(tmp_path, tiny_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        image(folder / f"{i:02d}.png")
    dest = tmp_path / "results.json"
    proc = run_isolated("detect", folder, "--no-display", "--model", tiny_model, "--json", dest, limit_bytes=1500)
    assert_one_error(proc, "cannot write", code=2)
    assert not dest.exists() and not partial_files(tmp_path)


def test_full_disk_on_annotated_images_keeps_only_whole_ones(tmp_path, tiny_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    noise = np.random.default_rng(0)
    for i in range(12):  # noise: 00-05 annotate to ~15 kB, 06-11 to ~120 kB, over the per-file limit
        side = 60 if i < 6 else 200
        cv2.imwrite(str(folder / f"{i:02d}.png"), noise.integers(0, 256, (side, side, 3), np.uint8))
    out = tmp_path / "out"
    proc = run_isolated("detect", folder, "--no-display", "--model", tiny_model, "--output", out, limit_bytes=50_000)
    assert_one_error(proc, "cannot write", code=2)
    written = sorted(out.glob("*.png"))
    assert [p.name for p in written] == [f"{i:02d}.png" for i in range(6)] and not partial_files(tmp_path)
    assert all(cv2.imread(str(p)) is not None for p in written)  # every file that is there is whole


def test_full_disk_on_summary_after_the_run(tmp_path, tiny_model):
    """The summary is small; a limit it alone crosses (after the run) still ends in one line, no partial."""
    clip = plain_video(tmp_path, frames=6)
    proc = run_isolated(
        "detect", clip, "--no-display", "--model", tiny_model, "--summary", tmp_path / "s.json", limit_bytes=60
    )
    assert_one_error(proc, "s.json: cannot write", code=2)
    assert not (tmp_path / "s.json").exists() and not partial_files(tmp_path)


# ---------------------------------------------------------------- the real failure, not a secondary one


def test_json_to_a_kernel_file_reports_that_file(tmp_path, tiny_model):
    """Before: `/proc/version_summary.partial-...json: cannot write`, the summary's failure, not the JSON's."""
    clip = plain_video(tmp_path, frames=3)
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, "--json", "/proc/version")
    assert_one_error(proc, "/proc/version: cannot write", code=2)
    assert "partial" not in proc.stderr and "summary" not in proc.stderr


def test_a_summary_that_fails_after_the_run_failed_keeps_the_first_error(tmp_path, tiny_model):
    """The JSON Lines fill a size-limited file; the summary fails too: the JSON Lines' error is the one reported."""
    clip = plain_video(tmp_path, frames=12)
    proc = run_isolated(
        "detect", clip, "--no-display", "--model", tiny_model, "--json", tmp_path / "f.jsonl", limit_bytes=200
    )
    assert proc.returncode == 2, proc.stderr
    errors = error_lines(proc)
    assert errors[-1].startswith(f"error: {tmp_path / 'f.jsonl'}: cannot write"), errors
    assert not partial_files(tmp_path) and not (tmp_path / "f.jsonl").exists()


# ---------------------------------------------------------------- every output opened before a failure is discarded


def test_a_source_that_cannot_be_opened_leaves_no_events_file(tmp_path, tiny_model):
    """Minor: any source that could not be opened, given --events, left a 0-byte `ev.partial-XXXXXX.jsonl`."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # an mp4 header, then noise
    proc = run_facemask(
        "detect",
        clip,
        "--no-display",
        "--model",
        tiny_model,
        "--events",
        tmp_path / "ev.jsonl",
        "--json",
        tmp_path / "f.jsonl",
    )
    assert_one_error(proc, str(clip))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_a_single_unreadable_image_commits_no_results_document(tmp_path, tiny_model):
    """Minor: `--json out.json` on a single failed image committed `{"results": [], "skipped": []}`, exit 2."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    proc = run_facemask("detect", photo, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json")
    assert_one_error(proc, "photo.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


# ---------------------------------------------------------------- a picture too wide for its format


def _strip(path: Path, width: int, height: int) -> Path:
    assert cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


@pytest.mark.parametrize("size", [(100000, 1), (1, 100000)], ids=["100000x1", "1x100000"])
def test_a_picture_jpeg_cannot_hold_is_refused_before_the_run(tmp_path, tiny_model, size):
    """Before: read and analysed, then `cannot encode a 100000x1 image` at the end, with no reason."""
    strip = _strip(tmp_path / "strip.png", *size)
    before = fingerprint(tmp_path)
    proc = run_isolated("detect", strip, "--model", tiny_model, "--output", tmp_path / "ann.jpg")
    assert_one_error(proc, "JPEG stops at 65535 px a side", code=2)
    assert proc.stdout == ""  # refused before anything was analysed
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_the_same_picture_as_png_is_written(tmp_path, tiny_model):
    strip = _strip(tmp_path / "strip.png", 100000, 1)
    proc = run_isolated("detect", strip, "--model", tiny_model, "--output", tmp_path / "ann.png")
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(tmp_path / "ann.png")).shape[:2] == (1, 100000)


def test_in_a_batch_only_the_copy_is_skipped_and_the_reason_given(tmp_path, tiny_model):
    """An odd suffix gets a `.jpg` copy: the image is still analysed and listed, its copy skipped saying why."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image(folder / "a.jpg")
    _strip(folder / "wide.png_x", 100000, 1)
    proc = run_isolated(
        "detect", folder, "--model", tiny_model, "--output", tmp_path / "ann", "--json", tmp_path / "r.json"
    )
    assert proc.returncode == 1, proc.stderr
    errors = error_lines(proc)
    assert len(errors) == 1 and "wide.png_x.jpg" in errors[0] and "JPEG stops at 65535" in errors[0], errors
    assert len(json.loads((tmp_path / "r.json").read_text())["results"]) == 2
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == ["a.jpg"]


def test_one_picture_that_cannot_be_encoded_does_not_stop_the_batch(tmp_path, tiny_model):
    """Minor: one 100000x1 image (PNG bytes named .jpg: no JPEG is that wide) stopped a folder batch."""
    import cv2
    import numpy as np

    folder = tmp_path / "in"
    folder.mkdir()
    ok, png = cv2.imencode(".png", np.full((1, 100000, 3), 128, np.uint8))
    (folder / "a_wide.jpg").write_bytes(png.tobytes())
    cv2.imwrite(str(folder / "b_fine.jpg"), np.full((80, 80, 3), 128, np.uint8))
    out = tmp_path / "out"
    proc = run_facemask("detect", folder, "--no-display", "--model", tiny_model, "--output", out)
    assert proc.returncode == 1, proc.stderr  # partial: one copy is missing, and the exit code says so
    assert "a_wide.jpg: a 100000x1 image cannot be written as .jpg (JPEG stops at 65535 px" in proc.stderr
    assert "; copy skipped" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b_fine.jpg"]
    assert "Traceback" not in proc.stderr
