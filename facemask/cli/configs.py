"""`facemask detect` and `batch` options into the configs the stages read, and the pipeline built from them.

The parsed arguments become one typed RunOptions, and that becomes the configs, once per run
(RunConfigs): every stage reads configs, never the argument namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from facemask.core.config import AlertOutputConfig, ClassifierConfig, DetectorConfig, OutputConfig, PipelineConfig
from facemask.core.options import (
    VIDEO_KINDS,
    RunOptions,
    classifier_config,
    detector_config,
    pipeline_config,
)

STDOUT = Path("-")  # `--json -`: results on stdout, the human-readable lines move to stderr


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
        """The stages (core/options.py `pipeline_config`), at the cadence of `sources` streams, the events
        carrying the source's `name`."""
        return pipeline_config(self.options, self.kind, sources, name)

    def alert_outputs(self, events: Path | None) -> AlertOutputConfig:
        """What this run does with a source's violations: its events file `events` (snapshots beside it),
        the beep and the command."""
        return AlertOutputConfig(events_path=events, beep=self.options.beep, on_violation=self.options.on_violation)


def build_configs(options: RunOptions, kind: str) -> RunConfigs:
    """The configs of a run on `kind` sources (`detect`'s first source, or `video` for every file of `batch`)."""
    o = options
    output = OutputConfig(
        display=not o.no_display if kind in VIDEO_KINDS else o.display,  # images: only when asked
        output=o.output,
        json_path=o.json,
        realtime=o.realtime,
        summary_path=o.summary or summary_beside(o.events, o.json),  # never beside stdout or a device
    )
    return RunConfigs(o, kind, detector_config(o, kind), classifier_config(o), output)


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
