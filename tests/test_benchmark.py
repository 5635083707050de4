from __future__ import annotations

import json

from conftest import assert_one_error, run_facemask
from nasty_files import image
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


# ---------------------------------------------------------------- bad input and the --json file


def test_benchmark_refuses_a_photo(tmp_path):
    """Item 6: `benchmark photo.jpg` reported "fps": 3.95 for one frame."""
    assert_one_error(
        run_facemask("benchmark", image(tmp_path / "photo.jpg", (160, 120))), "benchmark takes one video file"
    )


def test_benchmark_json_file_is_not_also_printed(tmp_path, tiny_model):
    """Item 9: `benchmark --json FILE` also printed the whole JSON to stdout."""
    video = tmp_path / "clip.mp4"
    write_video(video, frames=6)
    out = tmp_path / "bench.json"
    proc = run_facemask("benchmark", video, "--frames", 6, "--model", tiny_model, "--json", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file() and '"fps"' in out.read_text()
    assert proc.stdout.strip().splitlines() == [proc.stdout.strip().splitlines()[-1]]
    assert proc.stdout.startswith("facemask_fps=")


def test_benchmark_refuses_a_truncated_clip_as_detect_does(tmp_path, tiny_model):
    """Issue 21 minor: benchmark scored a truncated clip with exit 0 (it looped it), where detect says it ends early."""
    from video_fixtures import write_truncated_video

    cut = tmp_path / "cut.avi"
    write_truncated_video(cut, frames=30)
    proc = run_facemask("benchmark", cut, "--frames", 60, "--model", tiny_model, timeout=300)
    assert_one_error(proc, "cut.avi: video ends at frame")
