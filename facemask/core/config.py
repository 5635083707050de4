"""One frozen dataclass per concern; the CLI builds them, the stages only read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facemask import VIOLATING
from facemask.core.errors import FacemaskError

FACE_DETECTORS = ("centerface", "res10")
OPEN_TIMEOUT_S = 10.0  # a camera's or stream's wait for its first and every later frame (`detect --open-timeout`)
DETECT_EVERY = 2  # video: detect every 2nd frame, the tracker predicts between (PipelineConfig.detect_every)
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: 150 MB decoded as BGR; any camera photo fits (`--max-megapixels`)


@dataclass(frozen=True)
class DetectorConfig:
    """Face detector settings. `mode` picks a preset: `fast` for video, `accurate` for images.

    `backend` picks the detector: CenterFace (the default: one network that finds more masked
    faces than res10 and YuNet fused did, at a fraction of their cost) or the design's res10 SSD.
    Every backend's tuned cut sits at `confidence` 0.5.
    """

    confidence: float = 0.5
    mode: str = "fast"
    model_dir: Path | None = None
    nms_iou: float = 0.4
    min_size: int = 8
    backend: str = "centerface"

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise FacemaskError(f"face confidence must be in (0, 1), got {self.confidence}")
        if self.mode not in ("fast", "accurate"):
            raise FacemaskError(f"detector mode must be 'fast' or 'accurate', got {self.mode!r}")
        if self.backend not in FACE_DETECTORS:
            raise FacemaskError(f"face detector must be one of {', '.join(FACE_DETECTORS)}, got {self.backend!r}")
        if self.model_dir is not None and self.backend != "res10":  # it would be ignored without a word
            raise FacemaskError("--face-model is a folder of res10 SSD files: add --face-detector res10")


@dataclass(frozen=True)
class ClassifierConfig:
    """Which mask classifier to load: a shipped name (`default`, `resnet50`, `lite`) or a path."""

    model: str = "default"
    threshold: float | None = None
    threads: int = 2


def detect_cadence(requested: int | None, sources: int = 1) -> int:
    """Detect every N-th frame: as asked, else every 2nd; with several sources, every (2 x sources)-th.

    Several streams share one detector and take turns (Pipeline.lane staggers them), so by default
    the detector runs on every other tick whatever the number of cameras: the cost of one video at
    the single-source default. Like DeepStream's `interval` and Frigate's detect rate, the trackers
    carry the frames in between. Measured: four 720p clips at 11.7-13.1 fps each with every 4th frame
    detected, 16.0-17.3 fps with every 8th, on 2 cores (docs/bench/multi_source.json).
    """
    if requested is not None:
        return requested
    return DETECT_EVERY * max(1, sources)


def check_detect_every(frames: int) -> None:
    """The detection cadence: every frame (1), every 2nd (2)...; 0 or less would never detect."""
    if frames < 1:
        raise FacemaskError(f"detect-every must be >= 1 frame, got {frames}")


@dataclass(frozen=True)
class TrackerConfig:
    """Association, confirmation and smoothing. Times are in seconds so they hold at any frame rate
    and any detection schedule (`--detect-every`, `--realtime` drops).

    A detection scoring `birth_score` or more starts a track that is *confirmed* (gets an id,
    counts as a person) after `min_hits` detections spanning `confirm_s`. Weaker ones (down to the
    detector's cut) continue tracks (ByteTrack's two score levels) and start tracks held to the
    stricter `weak_min_hits` over `weak_confirm_s`, or to the usual rule counted from their first
    strong detection: a face at the back of a crowd that is there second after second counts, a
    hand that looks like a face for a few frames does not. It is
    matched by motion for `max_missed_s` after its last detection; a confirmed track lost longer
    is kept `relink_s` more, and takes back a face that reappears within `relink_distance` face
    sizes of where it was last seen, at a similar size.
    """

    birth_score: float = 0.6
    iou_threshold: float = 0.3
    match_distance: float = 0.8  # centre distance, in face sizes, when boxes no longer overlap
    max_missed_s: float = 0.6
    relink_s: float = 10.0
    relink_distance: float = 0.5
    confirm_s: float = 0.4
    min_hits: int = 2
    weak_confirm_s: float = 1.0  # a track a weak box started: held to this, and to weak_min_hits (0: never starts)
    weak_min_hits: int = 8
    smoothing_alpha: float = 0.35
    hysteresis: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold <= 1.0:
            raise FacemaskError(f"tracker IoU threshold must be in (0, 1], got {self.iou_threshold}")
        if not 0.0 <= self.birth_score <= 1.0:
            raise FacemaskError(f"tracker birth_score must be in [0, 1], got {self.birth_score}")
        for name in ("max_missed_s", "relink_s", "confirm_s", "match_distance", "relink_distance"):
            if getattr(self, name) < 0:
                raise FacemaskError(f"tracker {name} must be >= 0, got {getattr(self, name)}")
        if self.min_hits < 1:
            raise FacemaskError(f"tracker min_hits must be >= 1 detection, got {self.min_hits}")
        if self.weak_min_hits < 0 or self.weak_confirm_s < 0:
            raise FacemaskError(
                "tracker weak_min_hits and weak_confirm_s must be >= 0, "
                f"got {self.weak_min_hits} and {self.weak_confirm_s}"
            )
        if not 0.0 < self.smoothing_alpha <= 1.0:
            raise FacemaskError(f"smoothing alpha must be in (0, 1] (1 = no smoothing), got {self.smoothing_alpha}")
        if not 0.0 <= self.hysteresis < 0.5:
            raise FacemaskError(f"hysteresis must be in [0, 0.5), got {self.hysteresis}")


@dataclass(frozen=True)
class AlertConfig:
    """When a violation is raised: the decisions alone (what is written or set off is `AlertOutputConfig`).

    A person is a confirmed track (see TrackerConfig). `source` names the stream in each event of a
    multi-source run (None: events carry no `source`).
    """

    min_no_mask_s: float = 1.0
    rearm_mask_s: float = 1.0
    source: str | None = None
    violation_on: str = "any"  # facemask.VIOLATING: no_mask or incorrect_mask (any), or no_mask only

    def __post_init__(self) -> None:
        if self.violation_on not in VIOLATING:
            raise FacemaskError(f"violation-on must be one of {', '.join(VIOLATING)}, got {self.violation_on!r}")
        for name in ("min_no_mask_s", "rearm_mask_s"):
            if getattr(self, name) < 0:
                raise FacemaskError(f"{name} must be >= 0 seconds, got {getattr(self, name)}")


@dataclass(frozen=True)
class AlertOutputConfig:
    """What a run does with its violation events, an output the caller builds (alerts/outputs.py).

    `events_path`: the events file (None: none); `snapshot_dir`: each violation's face (None: beside the
    events file, `<stem>_snapshots/`, or none without one); `beep` and `on_violation` run on one worker
    thread whose queue holds `action_queue` jobs (more are dropped, never waited for).
    """

    events_path: Path | None = None
    snapshot_dir: Path | None = None
    beep: bool = False
    on_violation: str | None = None
    action_queue: int = 8

    def __post_init__(self) -> None:
        if self.on_violation is not None and not self.on_violation.strip():
            raise FacemaskError("--on-violation needs a command, got an empty string")
        if self.action_queue < 1:
            raise FacemaskError(f"action queue must hold at least 1 job, got {self.action_queue}")


@dataclass(frozen=True)
class OutputConfig:
    """Where results go: window, annotated file(s), JSON."""

    display: bool = True
    output: Path | None = None
    json_path: Path | None = None
    realtime: bool = False
    summary_path: Path | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """What `builder.build_pipeline` assembles: the models, tracking, alerts, cadence and panel.

    `tracker=None` runs untracked, and so with no monitor either (alerts follow tracks);
    `alerts=None` tracks with no monitor. `detect_every` is the cadence: between detections
    the tracker predicts (untracked, the last faces stand). Checked here, so a bad value
    fails before any model loads or any source starts. Where the results go (the sinks) is
    handed to `Pipeline.run`: they need the started source's frame rate and length.
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    classifier: ClassifierConfig | None = field(default_factory=ClassifierConfig)
    tracker: TrackerConfig | None = field(default_factory=TrackerConfig)
    alerts: AlertConfig | None = None
    detect_every: int = DETECT_EVERY
    status_panel: bool = True
    blur: bool = False  # faces blurred in every picture shown or saved (pipeline/blur.py); JSON unchanged

    def __post_init__(self) -> None:
        check_detect_every(self.detect_every)

    @classmethod
    def for_images(
        cls, detector: DetectorConfig, classifier: ClassifierConfig | None, blur: bool = False
    ) -> PipelineConfig:
        """Still images: each one detected, nothing tracked, no FPS or counters drawn."""
        return cls(detector, classifier, tracker=None, detect_every=1, status_panel=False, blur=blur)
