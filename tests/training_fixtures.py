"""Tiny training runs for the tests: the real `train.py` on small generated pictures, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from conftest import REPO


def run_python(*args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """A Python script or module of the repo, run as a user runs it (cwd the repo, output captured)."""
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def train_tiny(out: Path, *datasets_and_flags: str) -> subprocess.CompletedProcess:
    """`train.py`: the lite net from scratch at 32 px, batch 8, caching under `out`; the figures mean nothing."""
    tiny = ("--arch", "lite", "--weights", "none", "--input-size", "32", "--batch-size", "8")
    return run_python("train.py", *datasets_and_flags, "--output", str(out), *tiny, "--cache-dir", str(out / "cache"))


def tone_folder(root: Path, tones: dict[str, int], per_class: int, spread: int) -> Path:
    """One folder per class of 48 px pictures around a grey level (`tones`: class -> level), told apart by it."""
    rng = np.random.default_rng(0)
    for name, base in tones.items():
        (root / name).mkdir()
        for i in range(per_class):
            small = np.clip(base + rng.integers(-spread, spread, (4, 4, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / name / f"{i}.png"), cv2.resize(small, (48, 48), interpolation=cv2.INTER_CUBIC))
    return root
