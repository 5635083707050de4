from __future__ import annotations

import json

from conftest import run_facemask
from video_fixtures import write_video


def test_benchmark_loops_the_video_and_reports_every_stage(tmp_path, tiny_model):
    video = tmp_path / "clip.mp4"
    has_face = write_video(video, frames=12)
    out = tmp_path / "bench.json"
    proc = run_facemask(
        "benchmark",
        video,
        "--frames",
        30,
        "--model",
        tiny_model,
        "--json",
        out,
        "--encode",
        module="facemask.cli",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["frames"] == 30  # 12-frame clip looped
    assert result["fps"] > 0
    assert {"decode_wait", "detect", "classify", "track", "draw", "write"} <= set(result["stage_ms"])
    assert all(row["p95"] >= row["p50"] >= 0 for row in result["stage_ms"].values())
    assert result["threads"]["python_threads_in_use"] >= 2  # the reader thread runs beside the main one
    if has_face:
        assert result["faces"] >= 25 and result["faces_per_frame"] >= 0.8
    assert proc.stdout.strip().splitlines()[-1].startswith("facemask_fps=")
