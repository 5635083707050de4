"""The one builder: a PipelineConfig in, the assembled Pipeline out.

Every entry point (`facemask detect` on video and on images, `benchmark`, `evaluate`, the web
page's photos and clips, the scoring tools) gets its detector, classifier, tracker, monitor,
cadence and overlay here, so none of them can drift apart from the others.
"""

from __future__ import annotations

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
    Opens no file and starts no worker: what the events become (alerts/outputs.py `events_output`)
    is an output the caller hands to `Pipeline.run`, like any other.
    """
    if detector is None:
        detector = load_face_detector(config.detector)
    if classifier is None and config.classifier is not None:
        classifier = MaskClassifier(config.classifier)
    detect_every = 1 if config.blur else config.detect_every  # --blur: every frame detected, no face carried
    tracker = None
    if config.tracker is not None:
        tracker = FaceTracker(config.tracker)
    alerts = None
    if tracker is not None and config.alerts is not None:
        alerts = AlertStage(config.alerts, bool(getattr(classifier, "multi_class", False)))
    return Pipeline(
        analyzer=FaceMaskAnalyzer(detector, classifier),
        tracker=tracker,
        alerts=alerts,
        detect_every=detect_every,
        overlay=Overlay(counter_lines=counter_lines, status=config.status_panel),
        blur=FaceBlur() if config.blur else None,
    )
