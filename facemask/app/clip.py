"""Clips for the web page: the CLI's pipeline (builder.build_pipeline), run on an upload, into a WebM a browser plays.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be tested directly.
Everything the run writes (the upload, the video, the events, the snapshots) lives in a
temporary folder that is gone when `process_clip` returns; the result holds the bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from facemask.core.config import AlertConfig, PipelineConfig
from facemask.core.errors import FacemaskError
from facemask.io.sources import FileSource
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.builder import build_pipeline
from facemask.report.charts import timeline_svg
from facemask.report.page import MAX_POINTS, timeline_title
from facemask.report.runs import read_results
from facemask.sinks.base import JsonlSink, WebmSink
from facemask.sinks.progress import CallbackProgressSink, Report

TEMP_PATH_KEYS = ("events_path", "snapshot_dir")  # summary entries that name the vanished temp folder


@dataclass(frozen=True)
class ClipResult:
    name: str
    video: bytes  # VP8 WebM
    summary: dict  # AlertStage.summary()
    events: list[dict]  # as the events output wrote them, snapshot paths removed
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


def _run(path: Path, analyzer: FaceMaskAnalyzer, max_seconds: float, report: Report, blur: bool) -> ClipResult:
    folder = path.parent
    events_path, video_path, jsonl = folder / "events.jsonl", folder / "annotated.webm", folder / "frames.jsonl"
    config = PipelineConfig(alerts=AlertConfig(events_path=events_path), snapshot_dir=folder / "snapshots", blur=blur)
    with FileSource(path) as source:  # started first: an unreadable upload fails before the events file opens
        pipeline = build_pipeline(config, detector=analyzer.detector, classifier=analyzer.classifier)
        max_frames = max(1, round(max_seconds * source.fps))
        expected = source.expected_frames
        sinks = [
            WebmSink(video_path, source.fps),
            CallbackProgressSink(min(expected, max_frames) or max_frames, report),
            JsonlSink(jsonl),
        ]
        stats = pipeline.run(source, sinks, max_frames=max_frames)
    events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
    return ClipResult(
        name=path.name,
        video=video_path.read_bytes(),
        summary={k: v for k, v in (stats.summary or {}).items() if k not in TEMP_PATH_KEYS},
        events=[{k: v for k, v in e.items() if k != "snapshot"} for e in events],
        snapshots=_first_snapshots(events),
        frames=stats.frames,
        fps=round(stats.fps, 1),
        cut=stats.stop_reason == "max_frames" and expected > stats.frames,
        timeline=_timeline(jsonl, events) if stats.frames else "",
    )


def _timeline(jsonl: Path, events: list[dict]) -> str:
    """The report's timeline chart of the clip: people present, masked and unmasked, violations marked."""
    (source,) = read_results(jsonl)[:1]
    violations = [e for e in events if e.get("event") == "violation"]
    return timeline_svg(source.timeline.series(MAX_POINTS), violations, timeline_title(source), salt="clip")


def _first_snapshots(events: list[dict]) -> dict[int, bytes]:
    """Each track's snapshot from its first violation, read before the temp folder goes."""
    shots: dict[int, bytes] = {}
    for event in events:
        if event.get("snapshot") and event["track_id"] not in shots:
            shots[event["track_id"]] = Path(event["snapshot"]).read_bytes()
    return shots
