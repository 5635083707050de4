"""Every option that more than one command (or detect_video.py) takes, declared once.

One function per option or group: its name, its value check (values.py), its default and its
help. Commands differ only in the help text they pass, never in the check; a default a help text
names comes from its constant, never a literal. Nothing here imports more than the configs, so
`facemask --help` stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facemask import VIOLATING
from facemask.classification.shipped import shipped_help
from facemask.cli import values
from facemask.core.config import (
    DEFAULT_MAX_PIXELS,
    DETECT_EVERY,
    FACE_DETECTORS,
    OPEN_TIMEOUT_S,
    AlertConfig,
    DetectorConfig,
)

QUANTIZATIONS = ("auto", "int8", "dynamic", "float16")


def add_verbose(p: argparse.ArgumentParser, *, inherited: bool = False) -> None:
    """`-v`: on the top-level parser, and (inherited) on each subcommand, so it may come before or after."""
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if inherited else False,
        help="log progress and native library messages",
    )


def add_model(p: argparse.ArgumentParser) -> None:
    """`--model`: every command that runs the mask classifier."""
    p.add_argument(
        "--model",
        default="default",
        metavar="NAME|PATH",
        help=f"mask classifier: a shipped name ({shipped_help()}), or a .tflite/.keras model or mean card .json "
        "with its card beside it (default: %(default)s)",
    )


def add_face_detector(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """`--face-detector`: every command (and tool) that runs the face detector."""
    p.add_argument("--face-detector", choices=FACE_DETECTORS, default=DetectorConfig.backend, help=help)


def add_detector_mode(p: argparse.ArgumentParser, default: str | None = "fast", help: str | None = None) -> None:
    """`--detector-mode`: the face detector's preset; `detect` picks by source kind when it is not given."""
    p.add_argument(
        "--detector-mode",
        choices=("fast", "accurate"),
        default=default,
        help=help or f"face detector preset (default: {default})",
    )


def add_detect_every(p: argparse.ArgumentParser) -> None:
    """`--detect-every N`: the detection cadence of every video run."""
    p.add_argument(
        "--detect-every",
        type=values.positive_int,
        default=None,
        metavar="N",
        help="run the detector every N frames; the tracker predicts the frames in between "
        f"(default: {DETECT_EVERY}; with several sources, {DETECT_EVERY} x their number: "
        "they take turns at the one detector)",
    )


def add_no_track(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--no-track", action="store_true", help=help)


def add_max_megapixels(p: argparse.ArgumentParser, help: str) -> None:
    """`--max-megapixels MP`: the pixel budget of every image reader (see configs.set_pixel_budget)."""
    default = f" (default: {DEFAULT_MAX_PIXELS / 1e6:g})"
    p.add_argument("--max-megapixels", type=values.megapixels, metavar="MP", help=help + default)


def add_quantize(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """`--quantize`: the TFLite export of `train` and `export`."""
    p.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default=default,
        help="TFLite weights; auto tries int8, dynamic and float16 and keeps the fastest that classifies as well "
        "as float (default: %(default)s)",
    )


def add_json(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--json", type=Path, metavar="PATH", help=help)


def add_detect_options(p: argparse.ArgumentParser) -> None:
    """Everything `facemask detect` and `detect_video.py` take besides their sources."""
    p.add_argument(
        "--no-display",
        action="store_true",
        help="no preview window for video, cameras and streams (for servers and batch runs)",
    )
    p.add_argument(
        "--display",
        action="store_true",
        help="show images in a window too, one at a time (any key: next; q or Esc: stop the batch)",
    )
    add_json(
        p,
        "results as JSON: one line per frame for video, one document for images; - for stdout; "
        "several video sources: a folder or a template such as 'out/{name}.jsonl'",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="annotated output: a video file for video; a folder for images, or a file for one image; "
        "several video sources: a folder or a template such as 'out/{name}.mp4'",
    )
    add_model(p)
    add_detector_options(p)
    p.add_argument(
        "--realtime",
        action="store_true",
        help="play a video file at its own speed, dropping frames when inference falls behind",
    )
    add_no_track(p, "label every frame on its own (no tracking, no smoothing)")
    add_detect_every(p)
    p.add_argument("--max-frames", type=values.positive_int, metavar="N", help="stop after N frames")
    add_blur(p)
    add_report(
        p,
        "HTML report of the run (timeline, violations with snapshots, totals), drawn from --json FILE and the "
        "summary and events beside it; written at the end, also when stopped",
    )
    _add_alert_options(p)
    _add_stream_options(p)
    add_max_megapixels(p, "refuse images and video frames whose header declares more pixels than this")


def add_blur(p: argparse.ArgumentParser) -> None:
    """`--blur`: faces blurred in every picture shown or saved, for detect and batch alike."""
    p.add_argument(
        "--blur",
        action="store_true",
        help="blur faces in every picture shown or saved (annotated video and images, the window, event snapshots, "
        "report thumbnails), and the detector's less sure boxes too; boxes and labels still drawn; every frame is "
        "detected (as --detect-every 1), and the JSON is that run's",
    )


def add_report(p: argparse.ArgumentParser, help: str) -> None:
    """`--report PATH`: the HTML report (facemask/report/), written at the end of the run, even when stopped."""
    p.add_argument("--report", type=Path, metavar="PATH", help=help)


def add_detector_options(p: argparse.ArgumentParser) -> None:
    """`--confidence`, `--mask-threshold`, `--detector-mode`, `--face-detector`, `--face-model`: detect and batch."""
    p.add_argument(
        "--confidence",
        type=values.unit_interval,
        default=DetectorConfig.confidence,
        metavar="F",
        help=f"minimum face detection confidence (default: {DetectorConfig.confidence})",
    )
    p.add_argument(
        "--mask-threshold",
        type=values.unit_interval,
        metavar="F",
        help="P(no_mask) at which a face is labelled no_mask (default: the model card's)",
    )
    add_detector_mode(p, None, "face detector preset (default: accurate for images, fast for video)")
    add_face_detector(p, "centerface (finds most masked faces) or res10 (the SSD) (default: centerface)")
    p.add_argument("--face-model", type=Path, metavar="DIR", help="folder with the res10 SSD face detector files")


def _add_alert_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--events",
        type=Path,
        metavar="PATH",
        help="violation events as JSON Lines, with face snapshots in PATH_snapshots/; several sources: a folder "
        "or a template with {name}",
    )
    add_violation_after(p)
    p.add_argument("--beep", action="store_true", help="ring the terminal bell on each violation")
    p.add_argument(
        "--on-violation",
        metavar="CMD",
        help="shell command run (off the capture thread) on each violation; event JSON in $FACEMASK_EVENT; "
        "its output goes to stderr; it and anything it started are ended with the run",
    )
    p.add_argument(
        "--summary",
        type=Path,
        metavar="PATH",
        help="end-of-run summary JSON (default: beside --events or --json when given); several sources: one "
        "file for all with totals, or a folder or {name} template for one each",
    )


def add_violation_after(p: argparse.ArgumentParser) -> None:
    """`--violation-after S` and `--violation-on`: when a violation is raised, for detect and batch alike."""
    p.add_argument(
        "--violation-after",
        type=values.delay_seconds,
        default=AlertConfig.min_no_mask_s,
        metavar="S",
        help="seconds a person must read no_mask before one violation is raised (default: %(default)s)",
    )
    p.add_argument(
        "--violation-on",
        choices=tuple(VIOLATING),
        default=AlertConfig.violation_on,
        help="labels that raise a violation: any (no_mask or incorrect_mask, a mask below the nose) or no_mask "
        "only (default: %(default)s; a two-class model never reads incorrect_mask)",
    )


def _add_stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--open-timeout",
        type=values.seconds,
        default=OPEN_TIMEOUT_S,
        metavar="S",
        help="streams and cameras: seconds to wait for the first frame and any later one (default: %(default)g)",
    )
    p.add_argument(
        "--reconnect",
        type=values.count,
        default=0,
        metavar="N",
        help="streams: reopen a stream that stops, up to N times in a row, 1, 2, 4... s apart (default: %(default)s)",
    )
