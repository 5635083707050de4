"""Faults in a Ray batch (issue 31), on a real local Ray cluster shared by the module (one start):
a driver SIGKILLed mid-batch, a second batch on the same folder, the output folder filling up.

The killed driver is a real `facemask batch` process with a local Ray cluster of its own; the full
folder is a real 40 KB tmpfs (skipped, saying why, where this machine cannot mount one).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import HEADLESS, REPO, facemask_argv
from video_fixtures import write_video

from facemask.batch.lock import LOCK_NAME
from facemask.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FRAMES = {"big": 300, "s1": 8, "s2": 8}  # one long file (biggest first: it runs first), two short ones


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch_faults") / "videos"
    folder.mkdir()
    for name, frames in FRAMES.items():
        write_video(folder / f"{name}.mp4", frames=frames, with_face=True)
    return folder


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".partial-" in p.name)


def _rows(out: Path) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads((out / "report.json").read_text())["files"]}


def test_a_killed_driver_is_resumed_and_a_second_batch_meanwhile_refused(
    ray_cluster, videos, tiny_model, tmp_path, capsys
):
    out = tmp_path / "out"
    argv = facemask_argv("batch", videos, "--output", out, "--workers", "1", "--model", tiny_model)
    driver = subprocess.Popen(
        argv, cwd=REPO, env=HEADLESS, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(".partial-" in p.name and p.stat().st_size for p in out.glob("big*")):  # mid-file
            assert driver.poll() is None and time.monotonic() < deadline, driver.stderr.read().decode()
            time.sleep(0.05)
        capsys.readouterr()
        # A second batch on the same folder while the first runs: one line, exit 2, nothing touched.
        assert main(["batch", str(videos), "--output", str(out), "--model", str(tiny_model)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "another batch is writing to this folder" in err[0], err
        assert f"pid {driver.pid} on" in err[0] and _partials(out), err
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver (and the Ray it started) dies mid-file, without a word
        driver.wait()
    assert (out / LOCK_NAME).exists() and _partials(out)  # what a killed run leaves: its lock file, partial files
    assert main(["batch", str(videos), "--output", str(out), "--model", str(tiny_model)]) == 0
    rows = _rows(out)
    assert {name: (row["status"], row["frames"]) for name, row in rows.items()} == {
        name: ("ok", frames) for name, frames in FRAMES.items()
    }
    assert _partials(out) == [] and not (out / LOCK_NAME).exists()
    for name, frames in FRAMES.items():
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == frames


def test_a_lock_left_by_a_dead_batch_is_stale(ray_cluster, videos, tiny_model, tmp_path):
    """The lock file of a batch that died (its flock gone with it) does not stop the next one."""
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "gone"}))
    small = tmp_path / "list.txt"
    small.write_text(f"{videos / 's1.mp4'}\n")
    assert main(["batch", str(small), "--output", str(out), "--model", str(tiny_model)]) == 0
    assert _rows(out)["s1"]["status"] == "ok" and not (out / LOCK_NAME).exists()


@pytest.fixture
def small_disk(tmp_path):
    """A real 40 KB tmpfs; skipped where this machine cannot mount one (it takes root, or CAP_SYS_ADMIN)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip() or 'mount failed'}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_the_output_folder_filling_up_fails_that_file_alone(ray_cluster, videos, tiny_model, small_disk, capsys):
    """`big`'s JSON Lines outgrow the folder: it is reported failed with the disk's reason and leaves nothing
    (its partial removed, no half file under its name); the short ones, run after it, are whole."""
    out = small_disk / "out"
    assert main(["batch", str(videos), "--output", str(out), "--workers", "1", "--model", str(tiny_model)]) == 1
    rows = _rows(out)
    assert rows["big"]["status"] == "error" and "No space left on device" in rows["big"]["error"], rows["big"]
    assert not [p.name for p in out.glob("big*.json*")]  # no JSON Lines, events or summary
    for name in ("s1", "s2"):
        assert rows[name]["status"] == "ok"
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == FRAMES[name]
    assert _partials(out) == [] and not (out / LOCK_NAME).exists()
    assert "big: error:" in capsys.readouterr().out
