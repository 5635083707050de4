"""Faults across several sources (issue 31), on real local processes: a stream that stalls, an output
that fills, outputs that would collide, a camera or stream given twice.

The stalled stream is a real HTTP server on 127.0.0.1 sending MPEG-TS (tools/multi_source_stall.py
StallingStream) that stops sending without closing; the full disk is a size-limited file
(RLIMIT_FSIZE) in the command's own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HEADLESS, REPO, assert_one_error, facemask_argv, partial_files, run_isolated
from video_fixtures import write_video

sys.path.insert(0, str(REPO / "tools"))
from multi_source_stall import StallingStream  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _clips(folder: Path, frames: dict[str, int]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name, n in frames.items():
        write_video(folder / f"{name}.mp4", frames=n, with_face=False)
    return [folder / f"{name}.mp4" for name in frames]


def _errors(text: str) -> list[str]:
    assert "Traceback" not in text, text
    return [line for line in text.splitlines() if line.startswith("error: ")]


@pytest.fixture
def stalling():
    stream = StallingStream(frames=3000, fps=25)  # two minutes of frames, sent live until stall()
    yield stream
    stream.close()


def test_a_stalled_stream_never_holds_the_others_up(tmp_path, tiny_model, stalling):
    """Before: each tick read every source in turn, so the stalled one held the three others for the whole
    --open-timeout; now they finish (outputs committed) while it is still being waited for, and it alone is
    given up after the timeout with one line."""
    clips = _clips(tmp_path / "in", {"a": 40, "b": 40, "c": 40})
    out = tmp_path / "out"
    out.mkdir()
    err = (tmp_path / "stderr.txt").open("w")
    argv = facemask_argv("detect", *clips, stalling.url, "--no-display", "--model", tiny_model)
    argv += ["--json", str(out / "{name}.jsonl"), "--open-timeout", "12"]
    proc = subprocess.Popen(argv, cwd=REPO, env=HEADLESS, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size for p in out.glob("a.partial-*.jsonl")):  # the run has begun
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.02)
        stalling.stall()
        assert stalling.stalled.wait(5)
        while not all((out / f"{n}.jsonl").is_file() for n in "abc"):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.02)
        assert not _errors((tmp_path / "stderr.txt").read_text()), "the others waited for the stalled stream"
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        err.close()
    errors = _errors((tmp_path / "stderr.txt").read_text())
    assert len(errors) == 1 and stalling.url in errors[0] and "no frame for 12 s" in errors[0], errors
    assert proc.returncode == 1, stdout
    for name in "abc":
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == 40
    assert not partial_files(out)


def test_one_source_whose_output_fills_closes_alone_and_the_others_go_on(tmp_path, tiny_model):
    """A size-limited file (EFBIG, as a full disk): `long`'s JSON Lines outgrow it mid-run; its partial file
    goes, no half file takes its name, and the two short sources finish whole (exit 1: partial)."""
    clips = _clips(tmp_path / "in", {"long": 60, "s1": 6, "s2": 6})
    out = tmp_path / "out"
    out.mkdir()
    proc = run_isolated(
        "detect", *clips, "--no-display", "--model", tiny_model, "--json", out / "{name}.jsonl", limit_bytes=2500
    )
    assert proc.returncode == 1, proc.stderr
    errors = _errors(proc.stderr)
    assert len(errors) == 1 and f"{out / 'long.jsonl'}: cannot write (File too large)" in errors[0], errors
    assert not (out / "long.jsonl").exists() and not partial_files(out)
    for name in ("s1", "s2"):
        assert len((out / f"{name}.jsonl").read_text().splitlines()) == 6
    assert "s1: 6 frames" in proc.stdout and "s2: 6 frames" in proc.stdout


@pytest.mark.parametrize(
    "names, options, fragment",
    [
        pytest.param(
            ("x", "x_events"), ("--json", "{o}", "--events", "{o}"), "given to both", id="by name in a folder"
        ),
        pytest.param(("x", "y"), ("--json", "{o}/same.jsonl"), "a template with {name}", id="one file for all"),
        pytest.param(
            ("x", "y"),
            ("--json", "{o}/{{name}}.jsonl", "--events", "{link}/{{name}}.jsonl"),
            "given to both",
            id="two templates, one folder through a link",
        ),
        pytest.param(
            ("x", "y"), ("--json", "{o}/{{name}}/../all.jsonl"), "given to both", id="a template that folds to one"
        ),
    ],
)
def test_outputs_that_would_land_on_one_file_are_refused_before_the_run(tmp_path, tiny_model, names, options, fragment):
    clips = _clips(tmp_path / "in", dict.fromkeys(names, 3))
    out = tmp_path / "out"
    (out / "x").mkdir(parents=True)
    (out / "y").mkdir()
    (tmp_path / "link").symlink_to(out)
    args = [a.format(o=out, link=tmp_path / "link") for a in options]
    proc = run_isolated("detect", *clips, "--no-display", "--model", tiny_model, *args, timeout=60)
    assert_one_error(proc, fragment, code=2)
    assert proc.stdout == "" and not list(out.rglob("*.jsonl")) and not partial_files(tmp_path)


@pytest.mark.parametrize(
    "specs",
    [
        pytest.param(("0", "0"), id="camera 0 twice"),
        pytest.param(("3", "03"), id="camera 3 written two ways"),
        pytest.param(("http://127.0.0.1:9/live", "HTTP://127.0.0.1:9/live"), id="one URL, scheme in capitals"),
    ],
)
def test_the_same_camera_or_stream_twice_is_refused(specs):
    """Refused rather than opened once: a second reader of one device would race for its frames, and the
    user meant two different ones. One line, exit 2, before anything is opened."""
    proc = run_isolated("detect", *specs, "--no-display", timeout=60)
    assert_one_error(proc, "given twice", code=2)
    assert specs[1] in proc.stderr
