"""The run folder: what may be replaced, and the training clock that spans resumed runs."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from facemask.core.errors import FacemaskError
from facemask.training.config import TrainConfig


class WallClock:
    """Training time summed over interrupted and resumed runs, saved after every epoch."""

    def __init__(self, out: Path, resume: bool) -> None:
        self.path = out / "wall_time.json"
        self.before = 0.0
        if resume and self.path.is_file():
            try:
                self.before = float(json.loads(self.path.read_text())["seconds"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise FacemaskError(f"{self.path}: unreadable ({type(exc).__name__}: {exc})") from None
        self.started = time.time()

    @property
    def seconds(self) -> float:
        return self.before + time.time() - self.started

    def save(self) -> None:
        self.path.write_text(json.dumps({"seconds": round(self.seconds, 1)}))


RUN_MARKER = "facemask-run.json"  # written into every run folder; --overwrite touches only folders that hold it


def _is_run(out: Path) -> bool:
    """A folder this program made: its marker, or (runs from before the marker) its checkpoint and logs."""
    return (out / RUN_MARKER).is_file() or ((out / "best.keras").is_file() and any(out.glob("log_*.csv")))


def prepare_output(cfg: TrainConfig) -> WallClock:
    """The run folder: refuse to clobber an earlier run unless asked, and never delete what we did not write.

    A run that stopped before its first epoch (no checkpoint yet) is simply reused. `--overwrite`
    replaces only a run this program made; a folder of anything else is refused, whatever the flags.
    """
    out = cfg.output
    entries = [p for p in out.iterdir() if p.resolve() != cfg.cache_dir.resolve()] if out.is_dir() else []
    if entries and not _is_run(out):
        raise FacemaskError(
            f"{out}: holds files that are not a facemask training run; pick an empty or new --output folder"
        )
    progressed = (out / "best.keras").is_file() or (out / "backup").is_dir()
    if progressed and not (cfg.resume or cfg.overwrite or cfg.finish_only):
        raise FacemaskError(f"{out}: already holds a run; pass --resume to continue it or --overwrite to replace it")
    if cfg.finish_only and not (out / "best.keras").is_file():
        raise FacemaskError(f"{out}: no best.keras to finish from; train first")
    if progressed and not (cfg.resume or cfg.finish_only):
        shutil.rmtree(out / "backup", ignore_errors=True)  # our own checkpoints: the folder is a run of ours
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_MARKER).write_text(json.dumps({"written_by": "facemask train"}) + "\n")
    return WallClock(out, cfg.resume or cfg.finish_only)
