"""`facemask evaluate FOLDER`: score a model on a labelled folder through the full inference path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facemask.cli import options
from facemask.core.errors import FacemaskError


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="score a model on a labelled folder through the full inference path")
    p.add_argument("dataset", type=Path, help="folder with with_mask/ and without_mask/ (or mask/, no_mask/)")
    options.add_model(p)
    options.add_json(p, "write the metrics JSON here")
    p.add_argument("--plots", type=Path, help="write a confusion matrix and an image grid here")
    options.add_detector_mode(p)
    options.add_max_megapixels(p, "skip images whose header declares more pixels than this")
    p.set_defaults(func=run, mute_native=True)


def run(a: argparse.Namespace) -> int:
    from facemask.cli.configs import set_pixel_budget
    from facemask.core.options import RunOptions, pipeline_config
    from facemask.evaluation.evaluate import evaluate_folder, evaluation_pipeline, write_outputs
    from facemask.io.safeio import check_outputs, check_writable
    from facemask.training.metrics import format_table

    set_pixel_budget(a.max_megapixels)
    check_outputs({"--json": a.json, "--plots": a.plots}, [a.dataset])
    if a.json is not None:
        check_writable(a.json, "--json")
    if a.plots is not None and a.plots.exists() and not a.plots.is_dir():
        raise FacemaskError(f"{a.plots}: --plots takes a folder, and this is a file")
    config = pipeline_config(RunOptions(model=a.model, detector_mode=a.detector_mode), "image")
    report, skipped = evaluate_folder(a.dataset, evaluation_pipeline(config), progress=True)
    if "training_source_warning" in report:
        print(f"note: {report['training_source_warning']}", file=sys.stderr)
    for path, why in skipped:
        print(f"skipped: {path} ({why})", file=sys.stderr)
    print(format_table(write_outputs(report, a.json, a.plots)))
    return 1 if skipped else 0
