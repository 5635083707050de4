"""The one builder: a PipelineConfig in, the assembled Pipeline out.

Every entry point (`facemask detect` on video and on images, `benchmark`, `evaluate`, the web
page's photos and clips, the scoring tools) gets its detector, classifier, tracker, monitor,
cadence and overlay here, so none of them can drift apart from the others.
"""

from __future__ import annotations

from dataclasses import replace

from facemask.alerts.actions import ActionWorker
from facemask.alerts.monitor import counter_lines
from facemask.alerts.stage import AlertStage
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import PipelineConfig
from facemask.detection.loader import Detector, load_face_detector
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.blur import FaceBlur
from facemask.pipeline.overlay import Overlay
from facemask.pipeline.run import Pipeline
from facemask.sinks.base import Sink
from facemask.sinks.events import EventsSink
from facemask.tracking.tracker import FaceTracker


def build_pipeline(
    config: PipelineConfig, detector: Detector | None = None, classifier: MaskClassifier | None = None
) -> Pipeline:
    """Load the models `config` names and assemble the stages around them.

    `detector` and `classifier`, when given, are used as they are instead of loading
    `config.detector` and `config.classifier`: the web page's cached, locked models, or a
    scoring tool's own detector. No tracker means no monitor either: alerts follow tracks.
    The outputs the alerts config names (the events file and snapshots, the beep and command
    worker) are opened here, among `Pipeline.outputs`, so build the pipeline for the run it serves.
    """
    if detector is None:
        detector = load_face_detector(config.detector)
    if classifier is None and config.classifier is not None:
        classifier = MaskClassifier(config.classifier)
    detect_every = 1 if config.blur else config.detect_every  # --blur: every frame detected, no face carried
    tracker = None
    if config.tracker is not None:
        tracker = FaceTracker(replace(config.tracker, detect_every=detect_every))
    monitor, outputs = None, []
    if tracker is not None and config.alerts is not None:
        monitor, outputs = build_alerts(config, bool(getattr(classifier, "multi_class", False)))
    return Pipeline(
        analyzer=FaceMaskAnalyzer(detector, classifier),
        tracker=tracker,
        alerts=monitor,
        detect_every=detect_every,
        overlay=Overlay(counter_lines=counter_lines, status=config.status_panel),
        outputs=tuple(outputs),
        blur=FaceBlur() if config.blur else None,
    )


def build_alerts(config: PipelineConfig, multi_class: bool = False) -> tuple[AlertStage, list[Sink]]:
    """The monitor `config.alerts` asks for, and the outputs of its events: the events file and snapshots,
    then the actions (after them, so a command finds its snapshot saved). `multi_class`: the model reads
    incorrect_mask, so the counters show it."""
    alerts = config.alerts
    actions = (
        ActionWorker(alerts.beep, alerts.on_violation, alerts.action_queue)
        if alerts.beep or alerts.on_violation
        else None
    )
    monitor = AlertStage(alerts, config.snapshot_dir, actions, multi_class)
    outputs: list[Sink] = []
    if monitor.snapshot_dir is not None or alerts.events_path is not None:
        outputs.append(EventsSink(alerts.events_path))
    if actions is not None:
        outputs.append(actions)
    return monitor, outputs
