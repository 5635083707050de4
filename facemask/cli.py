"""The `facemask` command: parse arguments, build configs, call the package, print errors as one line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from facemask.errors import FacemaskError, one_line


def _train(a: argparse.Namespace) -> int:
    from facemask.cli_train import config_from_args
    from facemask.training import train

    metrics = train(config_from_args(a))
    print(
        f"test accuracy {metrics['accuracy']:.4f}; "
        f"exported {metrics['exported']['chosen']} to {a.output / 'model.tflite'}"
    )
    _warn_at_chance(metrics["accuracy"], a.output / "eval_data.npz")
    return 0


def _warn_at_chance(accuracy: float, eval_data: Path) -> None:
    warning = chance_level_warning(accuracy, eval_data) if eval_data.is_file() else None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


RUN_FILES = ("best.keras", "card_base.json", "eval_data.npz")  # what `train` leaves for a re-export


def _export(a: argparse.Namespace) -> int:
    from facemask.export import export_and_check

    missing = [name for name in RUN_FILES if not (a.run / name).is_file()]
    if not a.run.is_dir():
        raise FacemaskError(f"{a.run}: no such training run folder")
    if missing:
        raise FacemaskError(
            f"{a.run}: not a training run folder (missing {', '.join(missing)}; `facemask train` writes them)"
        )
    result = export_and_check(a.run, a.quantize)
    print(f"exported {result['chosen']} to {a.run / 'model.tflite'}")
    _warn_at_chance(result["candidates"][result["chosen"]]["accuracy"], a.run / "eval_data.npz")
    return 0


def chance_level_warning(accuracy: float, eval_data: Path, margin: float = 0.02) -> str | None:
    """A model no better than always answering the test split's commonest class is not worth shipping."""
    import numpy as np

    with np.load(eval_data) as data:
        y = np.asarray(data["test_y"])
    if len(y) == 0:
        return None
    majority = max(float(np.mean(y == c)) for c in np.unique(y))
    if accuracy > majority + margin:
        return None
    return (
        f"test accuracy {accuracy:.1%} is at chance level (always answering the commonest class scores "
        f"{majority:.1%}); this model has not learned the task"
    )


# Modules that add their own subcommand through `register(subparsers)`.
REGISTRARS: tuple[str, ...] = ("facemask.cli_app", "facemask.cli_detect")


def _evaluate(a: argparse.Namespace) -> int:
    from facemask.analyzer import FaceMaskAnalyzer
    from facemask.cli_detect import set_pixel_budget
    from facemask.config import ClassifierConfig, DetectorConfig
    from facemask.evaluate import evaluate_folder, write_outputs
    from facemask.metrics import format_table
    from facemask.safeio import check_outputs, check_writable

    set_pixel_budget(a.max_megapixels)
    check_outputs({"--json": a.json, "--plots": a.plots}, [a.dataset])
    if a.json is not None:
        check_writable(a.json, "--json")
    if a.plots is not None and a.plots.exists() and not a.plots.is_dir():
        raise FacemaskError(f"{a.plots}: --plots takes a folder, and this is a file")
    analyzer = FaceMaskAnalyzer.load(DetectorConfig(mode=a.detector_mode), ClassifierConfig(model=a.model))
    report, skipped = evaluate_folder(a.dataset, analyzer, progress=True)
    for path, why in skipped:
        print(f"skipped: {path} ({why})", file=sys.stderr)
    print(format_table(write_outputs(report, a.json, a.plots)))
    return 1 if skipped else 0


def _benchmark(a: argparse.Namespace) -> int:
    import json

    if not a.video.is_file():
        what = "is a folder" if a.video.is_dir() else "no such file"
        raise FacemaskError(f"{a.video}: {what} (benchmark takes one video file)")

    from facemask.analyzer import FaceMaskAnalyzer
    from facemask.benchmark import BenchmarkConfig, run_benchmark
    from facemask.config import ClassifierConfig, DetectorConfig
    from facemask.safeio import check_outputs, check_writable, write_text

    if a.json:
        check_outputs({"--json": a.json}, [a.video])
        check_writable(a.json, "--json")
    analyzer = FaceMaskAnalyzer.load(
        DetectorConfig(mode=a.detector_mode, backend=a.face_detector), ClassifierConfig(model=a.model)
    )
    cfg = BenchmarkConfig(
        video=a.video,
        frames=a.frames,
        tracking=not a.no_track,
        events=not a.no_events,
        encode=a.encode,
        detect_every=a.detect_every,
    )
    result = run_benchmark(cfg, analyzer)
    text = json.dumps(result, indent=1)
    if a.json:
        write_text(a.json, text)
    print(text)
    print(f"facemask_fps={result['fps']:.2f}")
    return 0


class _Subcommand(argparse.ArgumentParser):
    """A subcommand parser that can add its arguments only when that subcommand is parsed.

    The train options take their defaults from TrainConfig, whose module loads the training code and
    OpenCV; deferring them keeps `facemask --version`, `--help` and every other subcommand light.
    """

    def __init__(self, *args, add_arguments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def parse_known_args(self, args=None, namespace=None):
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)
        return super().parse_known_args(args, namespace)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    from facemask.cli_train import add_train_arguments

    add_train_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from facemask import __version__
    from facemask.cli_detect import add_face_detector_option, add_model_option, positive_int
    from facemask.config import TrackerConfig

    parser = argparse.ArgumentParser(prog="facemask", description="Real-time face-mask detection on a CPU.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and native library messages")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Subcommand)

    p = sub.add_parser("train", help="train a classifier from a dataset folder", add_arguments=_train_arguments)
    p.set_defaults(func=_train)

    p = sub.add_parser("export", help="re-export a training run to TFLite, checking accuracy")
    p.add_argument("run", type=Path, help="training run folder (has best.keras and eval_data.npz)")
    p.add_argument("--quantize", choices=("auto", "int8", "dynamic", "float16"), default="auto")
    p.set_defaults(func=_export)
    p = sub.add_parser("evaluate", help="score a model on a labelled folder through the full inference path")
    p.add_argument("dataset", type=Path, help="folder with with_mask/ and without_mask/ (or mask/, no_mask/)")
    add_model_option(p)
    p.add_argument("--json", type=Path, help="write the metrics JSON here")
    p.add_argument("--plots", type=Path, help="write a confusion matrix and an image grid here")
    p.add_argument("--detector-mode", choices=("fast", "accurate"), default="fast")
    p.add_argument(
        "--max-megapixels",
        type=float,
        metavar="MP",
        help="skip images whose header declares more pixels than this (default: 50)",
    )
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("benchmark", help="time the real pipeline headless on a (looped) video file")
    p.add_argument("video", type=Path)
    p.add_argument("--frames", type=positive_int, default=300, help="frames to process; the video loops (default: 300)")
    p.add_argument("--json", type=Path, help="write the result JSON here")
    add_model_option(p)
    p.add_argument("--detector-mode", choices=("fast", "accurate"), default="fast")
    add_face_detector_option(p, "face detector (default: fused, as `detect` uses)")
    p.add_argument(
        "--detect-every",
        type=int,
        default=TrackerConfig.detect_every,
        help="run the detector every N frames, track between (default: 2)",
    )
    p.add_argument("--no-track", action="store_true", help="no tracking (and so no smoothing or events)")
    p.add_argument("--no-events", action="store_true", help="tracking without the violation monitor")
    p.add_argument("--encode", action="store_true", help="also encode an annotated mp4 (to a temp file)")
    p.set_defaults(func=_benchmark)
    for name in REGISTRARS:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():  # `facemask detect -v ...` as well as `facemask -v detect ...`
        command.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="log progress and native library messages",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser().parse_args(argv))


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record arrives, so muting native output keeps log lines."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command, printing any FacemaskError as one `error:` line (shared by detect_video.py).

    `train`, `export` and `evaluate` run with native stderr muted (TensorFlow's absl/oneDNN/cudart
    banners, the converter's MLIR log) unless `-v`; Python's own warnings and errors still show.
    """
    from facemask.quiet import native_stderr_silenced

    for stream in (sys.stdout, sys.stderr):  # a file name that is not valid UTF-8 prints escaped, never crashes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, handlers=[handler])
    mute = not args.verbose and getattr(args, "command", None) in ("train", "export", "evaluate")
    try:
        with native_stderr_silenced(mute, keep_python=True):
            return args.func(args)
    except FacemaskError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a disk or permission failure no check foresaw: still one line
        if args.verbose:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {one_line(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory", file=sys.stderr)
        return 2
    except Exception as exc:  # the promise is one line; -v shows the traceback
        if args.verbose:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {one_line(str(exc))} (run with -v for details)", file=sys.stderr
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
