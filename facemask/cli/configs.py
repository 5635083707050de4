"""`facemask detect` options into the configs the stages read, and the pipeline built from them.

Images and folders get the detector's `accurate` mode, video and cameras `fast`, unless
`--detector-mode` says otherwise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from facemask.core.config import (
    AlertConfig,
    ClassifierConfig,
    DetectorConfig,
    OutputConfig,
    PipelineConfig,
    TrackerConfig,
    detect_cadence,
)
from facemask.io.quiet import native_stderr_silenced

VIDEO_KINDS = ("camera", "stream", "video")
STDOUT = Path("-")  # `--json -`: results on stdout, the human-readable lines move to stderr


def model_configs(args: argparse.Namespace, kind: str) -> tuple[DetectorConfig, ClassifierConfig]:
    """The detector and classifier options (options.add_detector_options, add_model): `detect` and `batch` alike."""
    mode = args.detector_mode or ("fast" if kind in VIDEO_KINDS else "accurate")
    detector = DetectorConfig(
        confidence=args.confidence,
        mode=mode,
        model_dir=args.face_model,
        backend=args.face_detector,
    )
    return detector, ClassifierConfig(model=args.model, threshold=args.mask_threshold)


def build_configs(args: argparse.Namespace, kind: str) -> tuple[DetectorConfig, ClassifierConfig, OutputConfig]:
    detector, classifier = model_configs(args, kind)
    display = not args.no_display if kind in VIDEO_KINDS else args.display  # images: only when asked
    output = OutputConfig(
        display=display,
        output=args.output,
        json_path=args.json,
        realtime=args.realtime,
        summary_path=summary_path(args),
    )
    return detector, classifier, output


def summary_path(args: argparse.Namespace) -> Path | None:
    """`--summary`, or by default beside `--events` or `--json` (never beside stdout or a device)."""
    return args.summary or summary_beside(args.events, args.json)


def summary_beside(events: Path | None, json_path: Path | None) -> Path | None:
    """The summary's default place: `<stem>_summary.json` beside the events file, else the JSON Lines."""
    beside = (p for p in (events, json_path) if p is not None and p != STDOUT and not _is_device(p))
    return next((p.with_name(p.stem + "_summary.json") for p in beside), None)


def _is_device(path: Path) -> bool:
    """`/dev/null` and the like: no summary file is put beside them."""
    return path.exists() and not path.is_file() and not path.is_dir()


def build_alert_config(args: argparse.Namespace) -> AlertConfig:
    return AlertConfig(
        events_path=args.events, min_no_mask_s=args.violation_after, beep=args.beep, on_violation=args.on_violation
    )


def set_pixel_budget(megapixels: float | None) -> None:
    """`--max-megapixels` (checked when parsed) reaches every image reader in this process (imageio.pixel_budget)."""
    from facemask.io.imageio import MAX_PIXELS_ENV, pixel_budget

    if megapixels is not None:
        os.environ[MAX_PIXELS_ENV] = str(int(megapixels * 1e6))
    pixel_budget()  # a bad FACEMASK_MAX_PIXELS is one line now, not one per image of a folder


def pipeline_config(args: argparse.Namespace, kind: str, sources: int = 1) -> PipelineConfig:
    """The stages `detect` (and `batch`, on each file) runs: images each detected and untracked; video tracked
    unless `--no-track`, detected at the cadence of `sources` streams sharing the detector."""
    detector, classifier = model_configs(args, kind)
    blur = args.blur
    if kind not in VIDEO_KINDS:
        return PipelineConfig.for_images(detector, classifier, blur=blur)
    tracker = None if args.no_track else TrackerConfig()
    return PipelineConfig(
        detector,
        classifier,
        tracker=tracker,
        alerts=build_alert_config(args),
        detect_every=detect_cadence(args.detect_every, sources),
        blur=blur,
    )


def load_pipeline(args: argparse.Namespace, config: PipelineConfig, like=None):
    """builder.build_pipeline, with the native libraries' load chatter muted unless `--verbose`.

    `like` (a Pipeline) lends its detector and classifier: several sources load the models once.
    """
    from facemask.pipeline.builder import build_pipeline

    shared = (like.analyzer.detector, like.analyzer.classifier) if like is not None else ()
    with native_stderr_silenced(not getattr(args, "verbose", False)):
        return build_pipeline(config, *shared)
