"""`facemask benchmark`: the real pipeline, headless, on a looped video file, timed per stage.

Decode, detect, classify, track, alerts and draw all run as in `facemask detect`; encoding
to a video file is optional. Resident memory is sampled so a long run shows any growth.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2

from facemask.analyzer import FaceMaskAnalyzer
from facemask.config import AlertConfig, TrackerConfig
from facemask.pipeline import run_video
from facemask.sinks import Sink, VideoFileSink
from facemask.sinks_progress import DrawSink
from facemask.sources import FileSource
from facemask.stages import video_stages


@dataclass(frozen=True)
class BenchmarkConfig:
    video: Path
    frames: int = 300
    tracking: bool = True
    events: bool = True
    encode: bool = False
    detect_every: int = TrackerConfig.detect_every


def run_benchmark(cfg: BenchmarkConfig, analyzer: FaceMaskAnalyzer) -> dict:
    """Frames per second, per-stage p50/p95 ms, faces per frame, threads and memory, as a JSON-ready dict."""
    stages = video_stages(cfg.tracking, AlertConfig() if cfg.events else None, detect_every=cfg.detect_every)
    draw = DrawSink()
    source = FileSource(cfg.video, loop=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        sinks: list[Sink] = [draw]
        if cfg.encode:
            sinks.append(VideoFileSink(Path(tmp) / "bench.mp4", source.fps))
        stats = run_video(source, analyzer, sinks, max_frames=cfg.frames, **stages)
    rss = draw.rss
    return {
        "video": cfg.video.name,
        "fps": round(stats.fps, 2),
        "frames": stats.frames,
        "faces": stats.faces,
        "faces_per_frame": round(stats.faces / max(1, stats.frames), 3),
        "stage_ms": stats.percentiles(),
        "labels": dict(stats.labels),
        "threads": {
            "python_threads_in_use": draw.threads,
            "opencv": cv2.getNumThreads(),
            "litert": analyzer.classifier.config.threads,
            "cpu_cores": os.cpu_count(),
        },
        "config": {
            "tracking": cfg.tracking,
            "events": cfg.events,
            "encode": cfg.encode,
            "detect_every": cfg.detect_every,
            "detector_mode": analyzer.detector.config.mode,
            "face_detector": analyzer.detector.config.backend,
            "model": analyzer.classifier.name,
        },
        "memory_mb": {
            "first": rss[0] if rss else None,
            "last": rss[-1] if rss else None,
            "max": max(rss) if rss else None,
            "every_100_frames": rss,
        },
    }
