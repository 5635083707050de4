"""The hostile corpus, round 3 (issue 31): the last four cases, each failing before its fix.

Each runs the real command in its own session (test_hostile.facemask): exit code, one `error:`
line per failure and no traceback, nothing half-written.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_error
from test_hostile import _video, facemask, fingerprint, image, partial_files

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _errors(proc) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


# ---------------------------------------------------------------- a file link that loops


@pytest.fixture
def looped(tmp_path: Path) -> Path:
    """A folder holding one good photo and `self.jpg`, a link to itself."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image(folder / "good.jpg")
    (folder / "self.jpg").symlink_to("self.jpg")
    return folder


@pytest.mark.parametrize("with_output", [False, True], ids=["json only", "json and annotated copies"])
def test_a_file_link_that_loops_is_skipped_like_any_unreadable_file(tmp_path, tiny_model, looped, with_output):
    """Before: `unexpected RuntimeError: Symlink loop`, exit 3, no JSON for the good photo (with --output)."""
    extra = ["--output", tmp_path / "annotated"] if with_output else []
    proc = facemask("detect", looped, "--model", tiny_model, "--json", tmp_path / "r.json", *extra)
    assert proc.returncode == 1, proc.stderr
    errors = _errors(proc)
    assert len(errors) == 1 and "self.jpg" in errors[0] and "symbolic links" in errors[0], proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [Path(r["source"]).name for r in doc["results"]] == ["good.jpg"]
    assert [Path(s["source"]).name for s in doc["skipped"]] == ["self.jpg"]
    if with_output:
        assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == ["good.jpg"]
    assert not partial_files(tmp_path)


def test_a_file_link_that_loops_given_alone_says_why(tmp_path, tiny_model, looped):
    proc = facemask("detect", looped / "self.jpg", "--model", tiny_model)
    assert_one_error(proc, "cannot read (Too many levels of symbolic links)", code=2)


def test_a_video_link_that_loops_in_a_batch_folder_is_planned_not_a_crash(tmp_path):
    """The batch's own check of outputs against inputs resolved every input: the same RuntimeError."""
    from facemask.batch.plan import plan_batch

    folder = tmp_path / "videos"
    folder.mkdir()
    _video(folder, "good.mp4", frames=2)
    (folder / "self.mp4").symlink_to("self.mp4")
    jobs = plan_batch(folder, tmp_path / "out")
    assert sorted(job.path.name for job in jobs) == ["good.mp4", "self.mp4"]


# ---------------------------------------------------------------- a picture too wide for its format


def _strip(path: Path, width: int, height: int) -> Path:
    assert cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


@pytest.mark.parametrize("size", [(100000, 1), (1, 100000)], ids=["100000x1", "1x100000"])
def test_a_picture_jpeg_cannot_hold_is_refused_before_the_run(tmp_path, tiny_model, size):
    """Before: read and analysed, then `cannot encode a 100000x1 image` at the end, with no reason."""
    strip = _strip(tmp_path / "strip.png", *size)
    before = fingerprint(tmp_path)
    proc = facemask("detect", strip, "--model", tiny_model, "--output", tmp_path / "ann.jpg")
    assert_one_error(proc, "JPEG stops at 65535 px a side", code=2)
    assert proc.stdout == ""  # refused before anything was analysed
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_the_same_picture_as_png_is_written(tmp_path, tiny_model):
    strip = _strip(tmp_path / "strip.png", 100000, 1)
    proc = facemask("detect", strip, "--model", tiny_model, "--output", tmp_path / "ann.png")
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(tmp_path / "ann.png")).shape[:2] == (1, 100000)


def test_in_a_batch_only_the_copy_is_skipped_and_the_reason_given(tmp_path, tiny_model):
    """An odd suffix gets a `.jpg` copy: the image is still analysed and listed, its copy skipped saying why."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image(folder / "a.jpg")
    _strip(folder / "wide.png_x", 100000, 1)
    proc = facemask(
        "detect", folder, "--model", tiny_model, "--output", tmp_path / "ann", "--json", tmp_path / "r.json"
    )
    assert proc.returncode == 1, proc.stderr
    errors = _errors(proc)
    assert len(errors) == 1 and "wide.png_x.jpg" in errors[0] and "JPEG stops at 65535" in errors[0], errors
    assert len(json.loads((tmp_path / "r.json").read_text())["results"]) == 2
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == ["a.jpg"]


# ---------------------------------------------------------------- control characters in names


def test_control_characters_in_names_are_escaped_on_stdout_and_in_errors(tmp_path, tiny_model):
    """Before: a newline in a good photo's name split its result line on stdout in two."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image(folder / "line\nbreak.jpg")
    image(folder / "esc\x1b[31mred.jpg")
    (folder / "bad\rname.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    proc = facemask("detect", folder, "--model", tiny_model)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.endswith("line\\nbreak.jpg: 0 faces") for line in lines), lines
    assert any(line.endswith("esc\\x1b[31mred.jpg: 0 faces") for line in lines), lines
    assert "\x1b" not in proc.stdout and "\r" not in proc.stdout
    assert len(lines) == 3  # two results and the totals, each on its own line
    errors = _errors(proc)
    assert len(errors) == 1 and "bad\\rname.jpg" in errors[0] and "\r" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- the real failure, not a secondary one


def test_json_to_a_kernel_file_reports_that_file(tmp_path, tiny_model):
    """Before: `/proc/version_summary.partial-...json: cannot write`, the summary's failure, not the JSON's."""
    clip = _video(tmp_path, frames=3)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, "--json", "/proc/version")
    assert_one_error(proc, "/proc/version: cannot write", code=2)
    assert "partial" not in proc.stderr and "summary" not in proc.stderr


def test_a_summary_that_fails_after_the_run_failed_keeps_the_first_error(tmp_path, tiny_model):
    """The JSON Lines fill a size-limited file; the summary fails too: the JSON Lines' error is the one reported."""
    clip = _video(tmp_path, frames=12)
    proc = facemask(
        "detect", clip, "--no-display", "--model", tiny_model, "--json", tmp_path / "f.jsonl", limit_bytes=200
    )
    assert proc.returncode == 2, proc.stderr
    errors = _errors(proc)
    assert errors[-1].startswith(f"error: {tmp_path / 'f.jsonl'}: cannot write"), errors
    assert not partial_files(tmp_path) and not (tmp_path / "f.jsonl").exists()
