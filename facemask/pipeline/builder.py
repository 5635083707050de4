"""The one builder: a PipelineConfig in, the assembled Pipeline out.

Every entry point (`facemask detect` on video and on images, `benchmark`, `evaluate`, the web
page's photos and clips, the scoring tools) gets its detector, classifier, tracker, monitor,
cadence and overlay here, so none of them can drift apart from the others.
"""

from __future__ import annotations

from dataclasses import replace

from facemask.alerts.monitor import counter_lines
from facemask.alerts.stage import AlertStage
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import PipelineConfig
from facemask.detection.loader import Detector, load_face_detector
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.blur import FaceBlur
from facemask.pipeline.overlay import Overlay
from facemask.pipeline.run import Pipeline
from facemask.tracking.tracker import FaceTracker


def build_pipeline(
    config: PipelineConfig, detector: Detector | None = None, classifier: MaskClassifier | None = None
) -> Pipeline:
    """Load the models `config` names and assemble the stages around them.

    `detector` and `classifier`, when given, are used as they are instead of loading
    `config.detector` and `config.classifier`: the web page's cached, locked models, or a
    scoring tool's own detector. No tracker means no monitor either: alerts follow tracks.
    The monitor opens its events output here, so build the pipeline for the run it serves.
    """
    if detector is None:
        detector = load_face_detector(config.detector)
    if classifier is None and config.classifier is not None:
        classifier = MaskClassifier(config.classifier)
    tracker = None
    if config.tracker is not None:
        tracker = FaceTracker(replace(config.tracker, detect_every=config.detect_every))
    monitor = None
    if tracker is not None and config.alerts is not None:
        monitor = AlertStage(config.alerts, config.snapshot_dir)
    return Pipeline(
        analyzer=FaceMaskAnalyzer(detector, classifier),
        tracker=tracker,
        monitor=monitor,
        detect_every=config.detect_every,
        overlay=Overlay(counter_lines=counter_lines, status=config.status_panel),
        blur=FaceBlur() if config.blur else None,
    )
