"""The CLI starts light: help, version and `app` never import TensorFlow or OpenCV.

Each command runs in a fresh interpreter, which then reports the heavy modules it holds; a test
process cannot check this itself, since other tests have long imported both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("tensorflow", "keras", "cv2", "ai_edge_litert")
PROBE = f"""
import contextlib, io, json, sys
from facemask.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
print(json.dumps({{"code": code, "output": out.getvalue(), "heavy": heavy}}))
"""


def run_probe(argv: list[str]) -> dict:
    """`facemask ARGV` in a new interpreter: its exit code, its output and the heavy modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv, expect",
    [
        (["--version"], "facemask 0.1.0"),
        (["--help"], "usage: facemask"),
        (["app", "--help"], "--port"),
        (["detect", "--help"], "--face-detector"),
        (["train", "--help"], "--dataset"),
    ],
)
def test_help_and_version_import_no_heavy_module(argv, expect):
    result = run_probe(argv)
    assert result["code"] == 0
    assert expect in result["output"]
    assert result["heavy"] == []


def test_probe_sees_a_heavy_import():
    """The check above can fail: running `train` (here on a missing folder) loads the training code and OpenCV."""
    result = run_probe(["train", "--dataset", "/nonexistent/ds", "--weights", "none", "--arch", "lite"])
    assert result["code"] != 0 and "dataset folder not found" in result["output"]
    assert "cv2" in result["heavy"]


def test_train_options_still_parse():
    from facemask.cli import build_parser, train

    args = build_parser().parse_args(["train", "--dataset", "data", "--epochs", "3"])
    assert args.dataset == [Path("data")] and args.epochs == 3 and args.func is train.run
