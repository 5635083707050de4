"""Run `facemask detect` on a video exactly as a user would, for the tools that score clips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def detect(video: Path | list[Path], *args: str, what: str, timeout: float) -> subprocess.CompletedProcess:
    """`python -m facemask.cli detect VIDEO... --no-display ARGS` from the repo root; a failed run raises
    RuntimeError naming `what` with the end of its stderr, so a broken figure is never written."""
    videos = [str(v) for v in (video if isinstance(video, list) else [video])]
    proc = subprocess.run(
        [sys.executable, "-m", "facemask.cli", "detect", *videos, "--no-display", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"facemask detect {what} failed: {proc.stderr.strip()[-500:]}")
    return proc
