"""What a new user ran into (issue 19): each case failed before its fix."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import assert_one_error, run_facemask
from video_fixtures import write_video


def _photo(tmp_path):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), np.full((120, 160, 3), 128, np.uint8))
    return path


def test_a_photo_with_a_video_output_name_is_refused_before_work(tmp_path, tiny_model):
    """Item 5: `detect photo.jpg --output x.mp4` made a folder named x.mp4 and exited 0."""
    proc = run_facemask("detect", _photo(tmp_path), "--output", tmp_path / "x.mp4", "--model", tiny_model)
    assert_one_error(proc, "names a video")
    assert not (tmp_path / "x.mp4").exists()


def test_benchmark_refuses_a_photo(tmp_path):
    """Item 6: `benchmark photo.jpg` reported "fps": 3.95 for one frame."""
    assert_one_error(run_facemask("benchmark", _photo(tmp_path)), "benchmark takes one video file")


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


def test_evaluate_says_when_the_folder_trained_the_model(tmp_path, tiny_model):
    """Item 11: `evaluate` on the training folder reported 100 % with no word that those images trained it."""
    import json

    from facemask.evaluation.provenance import folder_fingerprint

    root = tmp_path / "mine"
    entries = []
    for label, folder, value in (("mask", "with_mask", 220), ("no_mask", "without_mask", 30)):
        (root / folder).mkdir(parents=True)
        for i in range(2):
            path = root / folder / f"{i}.png"
            cv2.imwrite(str(path), np.full((48, 48, 3), value + i, np.uint8))
            entries.append((f"{folder}/{i}.png", label, __import__("hashlib").sha256(path.read_bytes()).hexdigest()))
    model = tmp_path / "tiny.tflite"  # a copy: the shared fixture's card stays as it is
    model.write_bytes(tiny_model.read_bytes())
    card_path = model.with_suffix(".json")
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["datasets"] = [{"name": "folder:elsewhere", "sha256": folder_fingerprint(entries), "split_sizes": {"test": 1}}]
    card_path.write_text(json.dumps(card))
    proc = run_facemask("evaluate", root, "--model", model)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "note: " in proc.stderr and "is the training set of" in proc.stderr and "not a test score" in proc.stderr
    card["datasets"] = [{"name": "folder:other", "sha256": "0" * 64}]
    card_path.write_text(json.dumps(card))
    proc = run_facemask("evaluate", root, "--model", model)
    assert proc.returncode == 0 and "note:" not in proc.stderr


def test_benchmark_refuses_a_truncated_clip_as_detect_does(tmp_path, tiny_model):
    """Issue 21 minor: benchmark scored a truncated clip with exit 0 (it looped it), where detect says it ends early."""
    from video_fixtures import write_truncated_video

    cut = tmp_path / "cut.avi"
    write_truncated_video(cut, frames=30)
    proc = run_facemask("benchmark", cut, "--frames", 60, "--model", tiny_model, timeout=300)
    assert_one_error(proc, "cut.avi: video ends at frame")
