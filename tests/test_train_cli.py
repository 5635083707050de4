"""`train.py` from the command line: no user file is deleted, and every option and folder is
checked before slow work (each case failed on the code before its fix)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, assert_one_error


def _train(*args: str, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
    """`train.py` as a user runs it, with downloads forced to fail fast (a dead proxy), as offline."""
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", **extra_env}
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env
    )


SCRATCH = ("--weights", "none", "--arch", "lite")


def _tiny_dataset(root: Path, per_class: int = 2) -> Path:
    rng = np.random.default_rng(0)
    for folder in ("with_mask", "without_mask"):
        (root / folder).mkdir(parents=True)
        for i in range(per_class):  # coarse random patterns: no two are perceptual duplicates
            small = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
            cv2.imwrite(str(root / folder / f"{i}.png"), cv2.resize(small, (40, 40), interpolation=cv2.INTER_NEAREST))
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path):
    """Bad 1: `--overwrite` on a user's folder deleted its `backup/` before failing."""
    out = tmp_path / "out"
    (out / "backup").mkdir(parents=True)
    (out / "backup" / "thesis_final.docx").write_bytes(b"years of work")
    (out / "notes.txt").write_text("notes")
    before = _tree(out)
    proc = _train("--dataset", str(_tiny_dataset(tmp_path / "ds")), "--output", str(out), "--overwrite", *SCRATCH)
    assert_one_error(proc, "not a facemask training run")
    assert _tree(out) == before


def test_overwrite_replaces_a_run_of_ours(tmp_path):
    """The rule's other side: a folder the program made (its marker) may be replaced."""
    out = tmp_path / "out"
    (out / "backup" / "full").mkdir(parents=True)
    (out / "facemask-run.json").write_text("{}")
    (out / "best.keras").write_bytes(b"old checkpoint")
    proc = _train("--dataset", str(_tiny_dataset(tmp_path / "ds")), "--output", str(out), "--overwrite", *SCRATCH)
    assert_one_error(proc, "too few images")  # it got past the folder check to the data
    assert not (out / "backup").exists()


def test_offline_imagenet_fails_before_any_cropping_and_leaves_no_run(tmp_path):
    """User item 7: the download failed only after cropping every face, leaving a folder the retry refused."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    ds = _tiny_dataset(tmp_path / "ds")
    proc = _train(
        *("--dataset", str(ds), "--output", str(out), "--cache-dir", str(cache), "--arch", "resnet50"),
        KERAS_HOME=str(tmp_path / "keras"),
    )
    assert_one_error(proc, "--weights none")
    assert not out.exists()
    assert not list(cache.glob("*.npz"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input-size", "60000"], "between 32 and 512"),
        (["--seed", "-1"], "--seed must be"),
    ],
)
def test_training_numbers_are_checked_before_work(tmp_path, args, message):
    """Bad 8 and a minor: `--input-size 60000` failed only on the allocation; `--seed -1` crashed."""
    started = time.monotonic()
    proc = _train("--dataset", str(_tiny_dataset(tmp_path / "ds")), "--output", str(tmp_path / "o"), *args, *SCRATCH)
    assert_one_error(proc, message)
    assert not (tmp_path / "o").exists()
    assert time.monotonic() - started < 120


def test_cache_inside_the_dataset_is_refused(tmp_path):
    """Minor: `--cache-dir` inside the dataset wrote .npz files into the user's data."""
    ds = _tiny_dataset(tmp_path / "ds")
    before = _tree(ds)
    cache = ds / "with_mask" / "c"
    proc = _train("--dataset", str(ds), "--output", str(tmp_path / "o"), "--cache-dir", str(cache), *SCRATCH)
    assert_one_error(proc, "inside the dataset")
    assert _tree(ds) == before


def test_a_class_folder_linked_into_proc_is_refused(tmp_path):
    """Bad 7: `with_mask -> /proc/self` ran out of memory reading pagemap."""
    ds = _tiny_dataset(tmp_path / "ds")
    (ds / "with_mask" / "0.png").unlink()
    (ds / "with_mask" / "1.png").unlink()
    (ds / "with_mask").rmdir()
    (ds / "with_mask").symlink_to("/proc/self")
    proc = _train("--dataset", str(ds), "--output", str(tmp_path / "o"), *SCRATCH)
    assert_one_error(proc, "system folder")


def test_a_random_keras_file_is_not_called_missing(tmp_path):
    """Minor: `--weights random.keras` said "File not found" for a file that exists."""
    weights = tmp_path / "random.keras"
    weights.write_bytes(os.urandom(4096))
    ds = _tiny_dataset(tmp_path / "ds", per_class=12)
    proc = _train("--dataset", str(ds), "--output", str(tmp_path / "o"), "--weights", str(weights), "--arch", "lite")
    assert_one_error(proc, "not a Keras model")
