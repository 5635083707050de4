"""`facemask detect` and `batch` options into the configs the stages read, and the pipeline built from them.

The parsed arguments become one typed RunOptions, and that becomes the configs, once per run
(RunConfigs): every stage reads configs, never the argument namespace.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path

from facemask.core.config import (
    AlertConfig,
    AlertOutputConfig,
    ClassifierConfig,
    DetectorConfig,
    OutputConfig,
    PipelineConfig,
    TrackerConfig,
    detect_cadence,
)

VIDEO_KINDS = ("camera", "stream", "video")
STDOUT = Path("-")  # `--json -`: results on stdout, the human-readable lines move to stderr


@dataclass(frozen=True)
class RunOptions:
    """What a `detect` or `batch` command line asked for, typed: the one object every config is made from.

    Built once from the parsed arguments (`from_args`). An option a command does not take (batch has
    no `--events`, `--no-track`, `--beep`, `--on-violation` or outputs of detect's) keeps its default
    here, so no command pretends to take another's flags.
    """

    model: str = "default"
    mask_threshold: float | None = None
    confidence: float = DetectorConfig.confidence
    detector_mode: str | None = None
    face_detector: str = DetectorConfig.backend
    face_model: Path | None = None
    no_track: bool = False
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


@dataclass(frozen=True)
class RunConfigs:
    """The configs of one run on one kind of source, built once (`build_configs`): the models, the outputs, and
    the stages (`pipeline`). Images and folders get the detector's `accurate` mode, video and cameras `fast`,
    unless `--detector-mode` says otherwise."""

    options: RunOptions
    kind: str
    detector: DetectorConfig
    classifier: ClassifierConfig
    output: OutputConfig

    def pipeline(self, sources: int = 1, name: str | None = None) -> PipelineConfig:
        """The stages: images each detected and untracked; video tracked unless `--no-track`, with alerts (their
        events carry the source's `name` in a multi-source run), detected at the cadence of `sources` streams
        sharing the detector; faces blurred with `--blur`."""
        o = self.options
        if self.kind not in VIDEO_KINDS:
            return PipelineConfig.for_images(self.detector, self.classifier, blur=o.blur)
        alerts = AlertConfig(min_no_mask_s=o.violation_after, source=name, violation_on=o.violation_on)
        return PipelineConfig(
            self.detector,
            self.classifier,
            tracker=None if o.no_track else TrackerConfig(),
            alerts=alerts,
            detect_every=detect_cadence(o.detect_every, sources),
            blur=o.blur,
        )

    def alert_outputs(self, events: Path | None) -> AlertOutputConfig:
        """What this run does with a source's violations: its events file `events` (snapshots beside it),
        the beep and the command."""
        return AlertOutputConfig(events_path=events, beep=self.options.beep, on_violation=self.options.on_violation)


def build_configs(options: RunOptions, kind: str) -> RunConfigs:
    """The configs of a run on `kind` sources (`detect`'s first source, or `video` for every file of `batch`)."""
    o = options
    detector = DetectorConfig(
        confidence=o.confidence,
        mode=o.detector_mode or ("fast" if kind in VIDEO_KINDS else "accurate"),
        model_dir=o.face_model,
        backend=o.face_detector,
    )
    output = OutputConfig(
        display=not o.no_display if kind in VIDEO_KINDS else o.display,  # images: only when asked
        output=o.output,
        json_path=o.json,
        realtime=o.realtime,
        summary_path=o.summary or summary_beside(o.events, o.json),  # never beside stdout or a device
    )
    return RunConfigs(o, kind, detector, ClassifierConfig(model=o.model, threshold=o.mask_threshold), output)


def summary_beside(events: Path | None, json_path: Path | None) -> Path | None:
    """The summary's default place: `<stem>_summary.json` beside the events file, else the JSON Lines."""
    beside = (p for p in (events, json_path) if p is not None and p != STDOUT and not _is_device(p))
    return next((p.with_name(p.stem + "_summary.json") for p in beside), None)


def _is_device(path: Path) -> bool:
    """`/dev/null` and the like: no summary file is put beside them."""
    return path.exists() and not path.is_file() and not path.is_dir()


def set_pixel_budget(megapixels: float | None) -> None:
    """`--max-megapixels` (checked when parsed) reaches every image reader in this process (imageio.pixel_budget)."""
    from facemask.io.imageio import MAX_PIXELS_ENV, pixel_budget

    if megapixels is not None:
        os.environ[MAX_PIXELS_ENV] = str(int(megapixels * 1e6))
    pixel_budget()  # a bad FACEMASK_MAX_PIXELS is one line now, not one per image of a folder


def load_pipeline(config: PipelineConfig, like=None):
    """builder.build_pipeline; `like` (a Pipeline) lends its detector and classifier: several sources load the
    models once. (Native libraries' load chatter is muted for the whole command, in cli/run.py.)"""
    from facemask.pipeline.builder import build_pipeline

    shared = (like.analyzer.detector, like.analyzer.classifier) if like is not None else ()
    return build_pipeline(config, *shared)
