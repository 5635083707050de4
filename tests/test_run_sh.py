"""tools/run.sh as the README uses it, with a stand-in venv so no install or model load happens here.

The stand-in `facemask` prints its arguments and the stand-in `python` records any call, so each
test sees exactly what run.sh would start, and whether it ran pip.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture
def venv(tmp_path) -> Path:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/python_calls\n')
    (bin_dir / "facemask").write_text('#!/bin/sh\necho "facemask $*"\n')
    for tool in ("python", "facemask"):
        (bin_dir / tool).chmod(0o755)
    return tmp_path / "venv"


def run_sh(venv: Path, *args: str, display: str | None = None) -> subprocess.CompletedProcess:
    """run.sh started from another folder, as `bash ~/facemask/tools/run.sh clip.mp4` would be."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["VENV"] = str(venv)
    if display:
        env["DISPLAY"] = display
    return subprocess.run(
        ["bash", str(REPO / "tools" / "run.sh"), *args],
        cwd=venv.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def installed(venv: Path) -> None:
    (venv / ".facemask-installed").write_text(hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest() + "\n")


def test_run_sh_keeps_the_callers_folder(venv):
    """`clip.mp4` means the caller's clip.mp4: the stand-in facemask prints the folder it runs in."""
    installed(venv)
    (venv / "bin" / "facemask").write_text("#!/bin/sh\npwd\n")
    assert run_sh(venv, "clip.mp4", "--no-display").stdout.strip() == str(venv.parent)


@pytest.mark.parametrize(
    ("args", "display", "expected"),
    [
        ((), ":0", "facemask detect 0"),
        (("--no-display",), None, "facemask detect 0 --no-display"),
        (
            ("clip.mp4", "--output", "annotated.mp4"),
            None,
            "facemask detect clip.mp4 --output annotated.mp4 --no-display",
        ),
        (("clip.mp4", "--output", "annotated.mp4"), ":0", "facemask detect clip.mp4 --output annotated.mp4"),
    ],
)
def test_run_sh_starts_the_right_command(venv, args, display, expected):
    installed(venv)
    proc = run_sh(venv, *args, display=display)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected
    added = "--no-display" in expected and "--no-display" not in args
    assert ("note: no display found" in proc.stderr) == added
    assert not (venv.parent / "python_calls").exists()  # installed already: pip is not run again


def test_run_sh_installs_once_then_again_when_pyproject_changes(venv):
    proc = run_sh(venv, "--no-display")
    assert proc.returncode == 0, proc.stderr
    calls = (venv.parent / "python_calls").read_text()
    assert f"pip install -q -e {REPO}\n" in calls  # the runtime alone: no extras, no TensorFlow
    assert f"{venv}/bin/pip install -e '{REPO}[train]'" in proc.stderr  # and how to add training
    (venv.parent / "python_calls").unlink()
    run_sh(venv, "--no-display")
    assert not (venv.parent / "python_calls").exists()
    (venv / ".facemask-installed").write_text("an older pyproject.toml\n")
    run_sh(venv, "--no-display")
    assert f"pip install -q -e {REPO}" in (venv.parent / "python_calls").read_text()
