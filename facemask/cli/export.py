"""`facemask export RUN`: re-export a training run to TFLite, checking the quantized model's accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from facemask.cli import options
from facemask.cli.train import warn_at_chance
from facemask.core.errors import FacemaskError
from facemask.core.extras import require_tensorflow

RUN_FILES = ("best.keras", "card_base.json", "eval_data.npz")  # what `train` leaves for a re-export


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="re-export a training run to TFLite, checking accuracy")
    p.add_argument("run", type=Path, help="training run folder (has best.keras and eval_data.npz)")
    options.add_quantize(p)
    p.set_defaults(func=run, mute_native=True)


def run(a: argparse.Namespace) -> int:
    require_tensorflow("exporting")
    from facemask.training.export import export_and_check

    missing = [name for name in RUN_FILES if not (a.run / name).is_file()]
    if not a.run.is_dir():
        raise FacemaskError(f"{a.run}: no such training run folder")
    if missing:
        raise FacemaskError(
            f"{a.run}: not a training run folder (missing {', '.join(missing)}; `facemask train` writes them)"
        )
    result = export_and_check(a.run, a.quantize)
    print(f"exported {result['chosen']} to {a.run / 'model.tflite'}")
    warn_at_chance(result["candidates"][result["chosen"]]["accuracy"], a.run / "eval_data.npz")
    return 0
