"""`pip install facemask` without the `train` extra: detect and evaluate never import TensorFlow or Keras,
and `train`, `export` and `.keras` models refuse in one line that names the extra.

Each command runs in a fresh interpreter under tests/no_tensorflow.py, which makes both packages
unimportable (as on a light install) and logs every attempt, even one a `try` would swallow. The
installed wheel gets the same treatment in test_packaging.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error
from video_fixtures import face_patch, read_back, synthetic_frame, write_video

from facemask.core.extras import TRAIN_EXTRA, require_tensorflow

TESTS = Path(__file__).resolve().parent
LITE = REPO / "facemask" / "models" / "mask_lite.tflite"  # a .tflite given by path, as a user's own model would be
RUN_WITHOUT_TF = "import no_tensorflow, sys; from facemask.cli import main; sys.exit(main(sys.argv[1:]))"


def facemask_without_tf(*args, log: Path) -> subprocess.CompletedProcess:
    """`facemask ARGS` from the repo root in an interpreter where TensorFlow and Keras cannot be imported."""
    env = {**HEADLESS, "PYTHONPATH": str(TESTS), "NO_TENSORFLOW_LOG": str(log)}
    return subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_TF, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def attempts(log: Path) -> list[str]:
    return log.read_text().split() if log.is_file() else []


def test_detect_and_evaluate_run_without_tensorflow(tmp_path):
    """Images to a folder and JSON, a video to H.264 and JSON Lines (shipped default model), evaluate on a .tflite."""
    log = tmp_path / "tried.log"
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(2):
        cv2.imwrite(str(pics / f"{i}.jpg"), synthetic_frame(i, face=face_patch()))
    clip = tmp_path / "clip.mp4"
    has_face = write_video(clip, frames=10)
    dataset = tmp_path / "ds"
    for folder, value in (("with_mask", 220), ("without_mask", 30)):
        (dataset / folder).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(dataset / folder / f"{i}.png"), np.full((48, 48, 3), value + i, np.uint8))

    images = facemask_without_tf(
        "detect", pics, "--no-display", "--output", tmp_path / "annotated", "--json", tmp_path / "r.json", log=log
    )
    assert images.returncode == 0, images.stderr
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert sorted(Path(r["source"]).name for r in results) == ["0.jpg", "1.jpg"]
    assert (tmp_path / "annotated" / "0.jpg").is_file() and (tmp_path / "annotated" / "1.jpg").is_file()

    out, jsonl = tmp_path / "out.mp4", tmp_path / "frames.jsonl"
    video = facemask_without_tf("detect", clip, "--no-display", "--output", out, "--json", jsonl, log=log)
    assert video.returncode == 0, video.stderr
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(10))
    assert read_back(out)[0] == 10
    if has_face:  # the shared data's face is pasted in: the classifier ran on real crops
        labels = {f["label"] for r in rows for f in r["faces"]}
        assert sum(1 for r in rows if r["faces"]) >= 8 and labels <= {"mask", "no_mask"}, rows

    scored = facemask_without_tf("evaluate", dataset, "--model", LITE, "--json", tmp_path / "e.json", log=log)
    assert scored.returncode == 0, scored.stderr
    assert "accuracy" in json.loads((tmp_path / "e.json").read_text())
    assert attempts(log) == [], "the detect/evaluate path tried to import TensorFlow or Keras"


def keras_file(tmp: Path) -> Path:
    path = tmp / "mine.keras"
    path.write_bytes(b"never read: the refusal comes first")
    return path


def photo(tmp: Path) -> Path:
    path = tmp / "photo.jpg"
    cv2.imwrite(str(path), np.full((60, 80, 3), 120, np.uint8))
    return path


@pytest.mark.parametrize(
    "argv, purpose",
    [
        (lambda t: ["train", "--dataset", t, "--weights", "none", "--arch", "lite", "--output", t / "run"], "training"),
        (lambda t: ["export", t], "exporting"),
        (lambda t: ["detect", photo(t), "--model", keras_file(t), "--no-display"], "a .keras model"),
        (lambda t: ["evaluate", t, "--model", keras_file(t)], "a .keras model"),
    ],
    ids=["train", "export", "detect --model x.keras", "evaluate --model x.keras"],
)
def test_training_commands_refuse_in_one_line_naming_the_extra(tmp_path, argv, purpose):
    log = tmp_path / "tried.log"
    proc = facemask_without_tf(*argv(tmp_path), log=log)
    assert_one_error(proc, f"{purpose} needs TensorFlow: pip install 'facemask[train]'", code=2)
    assert proc.stderr.strip() == f"error: {purpose} needs TensorFlow: {TRAIN_EXTRA}"
    assert attempts(log) == ["tensorflow"]  # looked up (and logged: the detect test's empty log means something)


def test_the_check_passes_where_the_extra_is_installed():
    """The test environment has the train extra (the test extra includes it): no refusal there."""
    require_tensorflow("training")
