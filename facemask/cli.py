"""The `facemask` command: parse arguments, build configs, call the package, print errors as one line."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from facemask.errors import FacemaskError


def _train(a: argparse.Namespace) -> int:
    from facemask.cli_train import config_from_args
    from facemask.training import train

    metrics = train(config_from_args(a))
    print(f"test accuracy {metrics['accuracy']:.4f}; exported {metrics['exported']['chosen']} to {a.output / 'model.tflite'}")
    return 0


def _export(a: argparse.Namespace) -> int:
    from facemask.export import export_and_check

    result = export_and_check(a.run, a.quantize)
    print(f"exported {result['chosen']} to {a.run / 'model.tflite'}")
    return 0


# Modules that add their own subcommand through `register(subparsers)`.
REGISTRARS: tuple[str, ...] = ("facemask.cli_app", "facemask.cli_detect")


def _evaluate(a: argparse.Namespace) -> int:
    from facemask.analyzer import FaceMaskAnalyzer
    from facemask.config import ClassifierConfig, DetectorConfig
    from facemask.evaluate import evaluate_folder, write_outputs
    from facemask.metrics import format_table

    analyzer = FaceMaskAnalyzer.load(DetectorConfig(mode=a.detector_mode), ClassifierConfig(model=a.model))
    report, skipped = evaluate_folder(a.dataset, analyzer)
    for path, why in skipped:
        print(f"skipped: {path} ({why})", file=sys.stderr)
    print(format_table(write_outputs(report, a.json, a.plots)))
    return 1 if skipped else 0


def _benchmark(a: argparse.Namespace) -> int:
    import json

    from facemask.analyzer import FaceMaskAnalyzer
    from facemask.benchmark import BenchmarkConfig, run_benchmark
    from facemask.config import ClassifierConfig, DetectorConfig

    analyzer = FaceMaskAnalyzer.load(DetectorConfig(mode=a.detector_mode), ClassifierConfig(model=a.model))
    cfg = BenchmarkConfig(video=a.video, frames=a.frames, tracking=not a.no_track, events=not a.no_events,
                          encode=a.encode, detect_every=a.detect_every)
    result = run_benchmark(cfg, analyzer)
    text = json.dumps(result, indent=1)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(text)
    print(text)
    print(f"facemask_fps={result['fps']:.2f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from facemask.cli_train import add_train_arguments
    from facemask.config import TrackerConfig

    parser = argparse.ArgumentParser(prog="facemask", description="Real-time face-mask detection on a CPU.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a classifier from a dataset folder")
    add_train_arguments(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("export", help="re-export a training run to TFLite, checking accuracy")
    p.add_argument("run", type=Path, help="training run folder (has best.keras and eval_data.npz)")
    p.add_argument("--quantize", choices=("auto", "int8", "float16"), default="auto")
    p.set_defaults(func=_export)
    p = sub.add_parser("evaluate", help="score a model on a labelled folder through the full inference path")
    p.add_argument("dataset", type=Path, help="folder with with_mask/ and without_mask/ (or mask/, no_mask/)")
    p.add_argument("--model", default="default", help="default | lite | PATH to .tflite or .keras")
    p.add_argument("--json", type=Path, help="write the metrics JSON here")
    p.add_argument("--plots", type=Path, help="write a confusion matrix and an image grid here")
    p.add_argument("--detector-mode", choices=("fast", "accurate"), default="fast")
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("benchmark", help="time the real pipeline headless on a (looped) video file")
    p.add_argument("video", type=Path)
    p.add_argument("--frames", type=int, default=300, help="frames to process; the video loops (default: 300)")
    p.add_argument("--json", type=Path, help="write the result JSON here")
    p.add_argument("--model", default="default", help="default | lite | PATH")
    p.add_argument("--detector-mode", choices=("fast", "accurate"), default="fast")
    p.add_argument("--detect-every", type=int, default=TrackerConfig.detect_every,
                   help="run the detector every N frames, track between (default: 2)")
    p.add_argument("--no-track", action="store_true", help="no tracking (and so no smoothing or events)")
    p.add_argument("--no-events", action="store_true", help="tracking without the violation monitor")
    p.add_argument("--encode", action="store_true", help="also encode an annotated mp4 (to a temp file)")
    p.set_defaults(func=_benchmark)
    for name in REGISTRARS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser().parse_args(argv))


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command, printing any FacemaskError as one `error:` line (shared by detect_video.py)."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except FacemaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
