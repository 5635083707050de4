"""One unreadable entry in a folder is skipped with its reason; the rest of the batch goes on (issue 21)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_error, error_lines, partial_files, run_facemask, run_isolated
from nasty_files import image

from facemask.io.walk import walk_files
from facemask.training.dataset import load_dataset


def _too_deep(root: Path, levels: int = 24) -> Path:
    """A folder nested past PATH_MAX: even root cannot stat what is inside it by its path."""
    here = os.getcwd()
    root.mkdir()
    os.chdir(root)
    try:
        for _ in range(levels):
            os.mkdir("d" * 200)
            os.chdir("d" * 200)
        cv2.imwrite("face.jpg", np.full((32, 32, 3), 90, np.uint8))
    finally:
        os.chdir(here)
    return root


def _picture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    return path


def test_the_walk_names_what_it_cannot_read_and_keeps_going(tmp_path: Path) -> None:
    _picture(tmp_path / "a.jpg")
    _picture(tmp_path / "z" / "b.jpg")
    _too_deep(tmp_path / "m")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    (tmp_path / "loop").symlink_to(tmp_path)  # a link back up: searched once, not for ever
    os.mkfifo(tmp_path / "pipe.jpg")
    walk = walk_files(tmp_path)
    assert [p.relative_to(tmp_path) for p in walk.files] == [Path("a.jpg"), Path("z/b.jpg")]
    reasons = {p.name: why for p, why in walk.problems}
    assert reasons["gone.jpg"] == "a broken link"
    assert reasons["pipe.jpg"].startswith("not a regular file")
    assert any(why == "cannot list this folder (File name too long)" for why in reasons.values())


def test_a_folder_batch_skips_an_unreadable_entry_says_why_and_finishes(tmp_path: Path, tiny_model: Path) -> None:
    """Before: `rglob` raised on the first entry it could not stat, and the whole run ended in `error: unexpected`."""
    photos = tmp_path / "photos"
    _picture(photos / "a.jpg")
    _picture(photos / "z.jpg")
    _too_deep(photos / "m")
    out = tmp_path / "out.json"
    proc = run_facemask("detect", photos, "--no-display", "--model", tiny_model, "--json", out)
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr  # partial: one entry skipped
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].endswith("cannot list this folder (File name too long)"), proc.stderr
    document = json.loads(out.read_text())
    assert [Path(r["source"]).name for r in document["results"]] == ["a.jpg", "z.jpg"]
    assert [s["error"].split(": ")[-1] for s in document["skipped"]] == ["cannot list this folder (File name too long)"]


def test_training_lists_an_unreadable_entry_as_skipped(tmp_path: Path) -> None:
    for label in ("with_mask", "without_mask"):
        for i in range(2):
            _picture(tmp_path / "ds" / label / f"{i}.jpg")
    _too_deep(tmp_path / "ds" / "with_mask" / "deep")

    def detect(image):
        from facemask.core.types import Faces

        return Faces.empty()

    data = load_dataset(tmp_path / "ds", 16, detect)
    assert len(data.samples) == 4
    assert [why for _, why in data.skipped] == ["cannot list this folder (File name too long)"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway; the too-deep folder covers root")
def test_a_file_without_read_permission_is_skipped_with_its_reason(tmp_path: Path, tiny_model: Path) -> None:
    photos = tmp_path / "photos"
    _picture(photos / "a.jpg")
    _picture(photos / "b.jpg").chmod(0)
    proc = run_facemask("detect", photos, "--no-display", "--model", tiny_model)
    assert proc.returncode == 1
    assert "b.jpg: cannot read (Permission denied)" in proc.stderr


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
    proc = run_isolated("detect", looped, "--model", tiny_model, "--json", tmp_path / "r.json", *extra)
    assert proc.returncode == 1, proc.stderr
    errors = error_lines(proc)
    assert len(errors) == 1 and "self.jpg" in errors[0] and "symbolic links" in errors[0], proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [Path(r["source"]).name for r in doc["results"]] == ["good.jpg"]
    assert [Path(s["source"]).name for s in doc["skipped"]] == ["self.jpg"]
    if with_output:
        assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == ["good.jpg"]
    assert not partial_files(tmp_path)


def test_a_file_link_that_loops_given_alone_says_why(tmp_path, tiny_model, looped):
    proc = run_isolated("detect", looped / "self.jpg", "--model", tiny_model)
    assert_one_error(proc, "cannot read (Too many levels of symbolic links)", code=2)
