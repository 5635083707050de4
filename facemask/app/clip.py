"""Clips for the web page: the CLI's pipeline (builder.build_pipeline), run on an upload, into a WebM a browser plays.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be tested directly.
The upload and the video live in a temporary folder that is gone when `process_clip` returns;
the events and each track's first snapshot come from the run itself (`frame.events`, the clean
picture), kept in memory by an output of the page's own. The result holds the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from facemask.core.errors import FacemaskError
from facemask.core.options import RunOptions, pipeline_config
from facemask.core.types import Faces, Frame
from facemask.io.sources import FileSource
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.builder import build_pipeline
from facemask.report.charts import timeline_svg
from facemask.report.page import MAX_POINTS, timeline_title
from facemask.report.runs import read_results
from facemask.sinks.base import JsonlSink, Sink, WebmSink
from facemask.sinks.events import snapshot_jpeg
from facemask.sinks.progress import CallbackProgressSink, Report

FILE_KEYS = ("events_path", "snapshot_dir")  # summary entries naming files, which the page does not write


@dataclass(frozen=True)
class ClipResult:
    name: str
    video: bytes  # VP8 WebM
    summary: dict  # AlertStage.summary()
    events: list[dict]  # the monitor's events, as the events file has them, less the snapshot paths
    snapshots: dict[int, bytes]  # track id -> JPEG of its first violation
    frames: int
    fps: float  # processing speed
    cut: bool  # stopped at the time limit before the clip ended
    timeline: str = ""  # the report's timeline chart (SVG) of the processed part


def process_clip(
    name: str,
    data: bytes,
    analyzer: FaceMaskAnalyzer,
    max_seconds: float,
    report: Report = lambda fraction, text: None,
    blur: bool = False,
) -> ClipResult:
    """Track, alert and annotate the first `max_seconds` of an uploaded clip, with the page's loaded models;
    `blur`: faces blurred in the video and the snapshots.

    A file that is not a readable video raises FacemaskError naming the upload, not the temp path.
    """
    with TemporaryDirectory(prefix="facemask-app-") as tmp:
        path = Path(tmp) / (Path(name).name or "clip")
        path.write_bytes(data)
        try:
            return _run(path, analyzer, max_seconds, report, blur)
        except FacemaskError as exc:
            raise FacemaskError(str(exc).replace(str(path), name)) from None


class _EventsKept(Sink):
    """The run's events, and each track's snapshot from its first violation, kept in memory for the page."""

    needs_image = False  # snapshots are cut from the clean picture

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.snapshots: dict[int, bytes] = {}

    def write(self, frame: Frame, faces: Faces) -> None:
        for event in frame.events:
            self.events.append({k: v for k, v in event.items() if k != "snapshot"})
            track = event["track_id"]
            if event["event"] == "violation" and track not in self.snapshots:
                shot = snapshot_jpeg(frame, faces, track)
                if shot is not None:
                    self.snapshots[track] = shot


def _run(path: Path, analyzer: FaceMaskAnalyzer, max_seconds: float, report: Report, blur: bool) -> ClipResult:
    video_path, jsonl = path.parent / "annotated.webm", path.parent / "frames.jsonl"
    config = pipeline_config(RunOptions(blur=blur), "video")  # the models are the page's own
    with FileSource(path) as source:  # started first: an unreadable upload fails before any output opens
        pipeline = build_pipeline(config, detector=analyzer.detector, classifier=analyzer.classifier)
        max_frames = max(1, round(max_seconds * source.fps))
        expected = source.expected_frames
        kept = _EventsKept()
        sinks = [
            kept,
            WebmSink(video_path, source.fps),
            CallbackProgressSink(min(expected, max_frames) or max_frames, report),
            JsonlSink(jsonl),
        ]
        stats = pipeline.run(source, sinks, max_frames=max_frames)
    return ClipResult(
        name=path.name,
        video=video_path.read_bytes(),
        summary={k: v for k, v in (stats.summary or {}).items() if k not in FILE_KEYS},
        events=kept.events,
        snapshots=kept.snapshots,
        frames=stats.frames,
        fps=round(stats.fps, 1),
        cut=stats.stop_reason == "max_frames" and expected > stats.frames,
        timeline=_timeline(jsonl, kept.events) if stats.frames else "",
    )


def _timeline(jsonl: Path, events: list[dict]) -> str:
    """The report's timeline chart of the clip: people present, masked and unmasked, violations marked."""
    (source,) = read_results(jsonl)[:1]
    violations = [e for e in events if e.get("event") == "violation"]
    return timeline_svg(source.timeline.series(MAX_POINTS), violations, timeline_title(source), salt="clip")
