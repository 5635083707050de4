"""`facemask benchmark`: the real pipeline, headless, on a looped video file, timed per stage.

Decode, detect, classify, track, alerts and draw all run as in `facemask detect`; encoding
to a video file is optional. Resident memory is sampled so a long run shows any growth.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from facemask.core.config import PipelineConfig
from facemask.core.options import RunOptions, pipeline_config
from facemask.io.sources import FileSource
from facemask.pipeline.builder import build_pipeline
from facemask.sinks.base import Sink, VideoFileSink
from facemask.sinks.progress import MemorySampleSink


@dataclass(frozen=True)
class BenchmarkConfig:
    """A looped `video`, `frames` of it, `options` as `facemask detect` takes them (`no_track`, `no_events`:
    tracking without the monitor), and whether the annotated video is also encoded."""

    video: Path
    frames: int = 300
    options: RunOptions = field(default_factory=RunOptions)
    encode: bool = False

    def pipeline(self) -> PipelineConfig:
        """The stages `facemask detect` would run on this video with the same options."""
        return pipeline_config(self.options, "video")


def run_benchmark(cfg: BenchmarkConfig) -> dict:
    """Frames per second, per-stage p50/p95 ms, faces per frame, threads and memory, as a JSON-ready dict."""
    config = cfg.pipeline()
    pipeline = build_pipeline(config)  # a bad setting fails here, before the reader thread starts
    analyzer = pipeline.analyzer
    draw = MemorySampleSink()
    with FileSource(cfg.video, loop=True) as source, tempfile.TemporaryDirectory() as tmp:
        sinks: list[Sink] = [draw]
        if cfg.encode:
            sinks.append(VideoFileSink(Path(tmp) / "bench.mp4", source.fps))
        stats = pipeline.run(source, sinks, max_frames=cfg.frames)
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
            "tracking": not cfg.options.no_track,
            "events": not cfg.options.no_events,
            "encode": cfg.encode,
            "detect_every": config.detect_every,
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
