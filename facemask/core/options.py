"""What a run asked for, typed (`RunOptions`), and the one function that turns it into the stages' config.

Every entry point that runs the pipeline (`detect`, `batch`, `benchmark`, `evaluate`, the web page,
tools/clip_counts.py) states its options here and gets its `PipelineConfig` from `pipeline_config`, so
none of them can assemble the stages another way.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path

from facemask.core.config import (
    AlertConfig,
    ClassifierConfig,
    DetectorConfig,
    PipelineConfig,
    TrackerConfig,
    detect_cadence,
)

VIDEO_KINDS = ("camera", "stream", "video")


@dataclass(frozen=True)
class RunOptions:
    """What a command line (or the web page, or a tool) asked for, typed: the one object every config is made from.

    Built once from the parsed arguments (`from_args`). An option a command does not take (batch has
    no `--events`, `--no-track`, `--beep` or `--on-violation`; only benchmark has `--no-events`) keeps its
    default here, so no command pretends to take another's flags.
    """

    model: str = "default"
    mask_threshold: float | None = None
    confidence: float = DetectorConfig.confidence
    detector_mode: str | None = None
    face_detector: str = DetectorConfig.backend
    face_model: Path | None = None
    no_track: bool = False
    no_events: bool = False  # tracked, with no violation monitor (benchmark)
    detect_every: int | None = None
    events: Path | None = None
    violation_after: float = AlertConfig.min_no_mask_s
    violation_on: str = AlertConfig.violation_on
    beep: bool = False
    on_violation: str | None = None
    display: bool = False
    no_display: bool = False
    output: Path | None = None
    json: Path | None = None
    realtime: bool = False
    summary: Path | None = None
    blur: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        given = vars(args)
        return cls(**{f.name: given[f.name] for f in fields(cls) if f.name in given})


def detector_config(o: RunOptions, kind: str) -> DetectorConfig:
    """Images and folders get the detector's `accurate` mode, video and cameras `fast`, unless `--detector-mode`
    says otherwise."""
    mode = o.detector_mode or ("fast" if kind in VIDEO_KINDS else "accurate")
    return DetectorConfig(confidence=o.confidence, mode=mode, model_dir=o.face_model, backend=o.face_detector)


def classifier_config(o: RunOptions) -> ClassifierConfig:
    return ClassifierConfig(model=o.model, threshold=o.mask_threshold)


def pipeline_config(o: RunOptions, kind: str, sources: int = 1, name: str | None = None) -> PipelineConfig:
    """The stages of a run on `kind` sources: images each detected and untracked; video tracked unless
    `--no-track`, with alerts unless `no_events` (their events carry the source's `name` in a multi-source
    run), detected at the cadence of `sources` streams sharing the detector; faces blurred with `--blur`."""
    detector, classifier = detector_config(o, kind), classifier_config(o)
    if kind not in VIDEO_KINDS:
        return PipelineConfig.for_images(detector, classifier, blur=o.blur)
    alerts = AlertConfig(min_no_mask_s=o.violation_after, source=name, violation_on=o.violation_on)
    return PipelineConfig(
        detector,
        classifier,
        tracker=None if o.no_track else TrackerConfig(),
        alerts=None if o.no_events else alerts,
        detect_every=detect_cadence(o.detect_every, sources),
        blur=o.blur,
    )
