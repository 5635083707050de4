"""Outputs are written under a `.partial-` name and renamed only when whole: odd and long names,
killed runs, earlier results kept until the new one is complete, stale partial files."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, facemask_argv, run_facemask, run_isolated, wait_for_lines
from nasty_files import image, plain_video

from facemask.io.safeio import temp_path_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_partial_name_for_a_name_that_is_not_utf8(tmp_path):
    """Bad 2: `temp_path_for` encoded `bad\\xff\\xfe.jpg` and raised UnicodeEncodeError."""
    dest = tmp_path / os.fsdecode(b"bad\xff\xfe.jpg")
    temp = temp_path_for(dest)
    assert temp.parent == dest.parent and temp.suffix == ".jpg" and ".partial-" in temp.name
    temp.write_bytes(b"x")  # the file system takes the name
    long = tmp_path / os.fsdecode(b"\xff" * 240 + b".jpg")
    assert len(os.fsencode(temp_path_for(long).name)) < 255


def test_a_long_output_name_still_gets_its_partial_file(tmp_path, tiny_model):
    dest = tmp_path / ("r" * 240 + ".json")
    proc = run_isolated("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", tiny_model, "--json", dest)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(dest.read_text())["results"][0]["source"].endswith("p.jpg")


def test_a_killed_run_leaves_no_half_file_under_the_real_name(tmp_path, tiny_model):
    """SIGKILL mid-run (no cleanup possible): the real names stay absent or as they were; what was
    written is in files named `.partial-`, and its lines are whole."""
    clip = plain_video(tmp_path, frames=60, fps=5.0)  # --realtime: 12 s
    jsonl, video = tmp_path / "f.jsonl", tmp_path / "out.mp4"
    video.write_bytes(b"an earlier recording")
    proc = subprocess.Popen(
        facemask_argv(
            "detect", clip, "--no-display", "--realtime", "--model", tiny_model, "--json", jsonl, "--output", video
        ),
        cwd=REPO,
        env=HEADLESS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_lines(proc, tmp_path, "f.partial-*.jsonl", "the run ended before it could be killed")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not jsonl.exists() and video.read_bytes() == b"an earlier recording"
    (partial,) = tmp_path.glob("f.partial-*.jsonl")
    frames = [json.loads(line)["frame"] for line in partial.read_text().splitlines()]
    # Every line is whole JSON (parsed above) and in order; --realtime may drop a frame under load, so
    # the indices rise but need not start at 0 or be contiguous.
    assert frames == sorted(set(frames)) and len(frames) >= 3


def test_existing_output_is_replaced_only_when_complete(tmp_path, tiny_model):
    """A good earlier result stays until the new one is whole: a failed run leaves it untouched."""
    clip = plain_video(tmp_path, frames=20)
    dest = tmp_path / "frames.jsonl"
    dest.write_text('{"earlier": "result"}\n')
    proc = run_isolated("detect", clip, "--no-display", "--model", tiny_model, "--json", dest, limit_bytes=400)
    assert proc.returncode == 2
    assert dest.read_text() == '{"earlier": "result"}\n'


def test_a_rerun_removes_a_killed_runs_partial_files_only(tmp_path, tiny_model):
    """Minor: a successful re-run after a SIGKILL left the killed run's `.partial-` files."""
    import os
    import subprocess

    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.full((64, 64, 3), 128, np.uint8))
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that is certainly gone
    stale = tmp_path / f"out.partial-{dead.pid}-abcdef.json"
    live = tmp_path / f"out.partial-{os.getpid()}-123456.json"  # a run still going: not ours to remove
    other = tmp_path / f"notes.partial-{dead.pid}-abcdef.json"  # another output's leftover
    for path in (stale, live, other):
        path.write_text("{")
    proc = run_facemask("detect", photo, "--no-display", "--model", tiny_model, "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out.json").is_file()
    assert not stale.exists() and live.exists() and other.exists()
