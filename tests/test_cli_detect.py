"""`facemask detect` and `detect_video.py` end to end, in a subprocess: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error, card_of, error_lines, run_facemask, run_isolated
from nasty_files import image, photo_folder
from video_fixtures import read_back, write_truncated_video, write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def cli(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_facemask("detect", *args, module="facemask.cli", env=env, timeout=timeout)


@pytest.fixture
def video(tmp_path) -> tuple[Path, bool]:
    path = tmp_path / "clip.mp4"
    return path, write_video(path, frames=12)


def write_model_variant(
    tiny_model: Path, folder: Path, card_changes: dict | None = None, data: bytes | None = None, card: bool = True
) -> Path:
    folder.mkdir()
    dest = folder / "m.tflite"
    dest.write_bytes(tiny_model.read_bytes() if data is None else data)
    if card:
        dest.with_suffix(".json").write_text(json.dumps({**card_of(tiny_model), **(card_changes or {})}))
    return dest


def test_video_to_file_and_jsonl(tmp_path, video, tiny_model):
    path, has_face = video
    out, jsonl = tmp_path / "out.mp4", tmp_path / "frames.jsonl"
    proc = cli(path, "--no-display", "--model", tiny_model, "--output", out, "--json", jsonl)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "12 frames" in proc.stdout
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(12))
    assert rows[3]["time_s"] == pytest.approx(0.3)
    assert read_back(out) == (12, (320, 240), pytest.approx(10.0))
    if has_face:
        assert sum(1 for r in rows if r["faces"]) >= 10
        ids = [f.get("track_id") for r in rows for f in r["faces"]]
        assert set(ids) - {None} == {1} and ids[-1] == 1  # one person, one id once confirmed (0.4 s in)


def test_detect_video_script_is_the_same_command(tmp_path, video, tiny_model):
    path, _ = video
    jsonl = tmp_path / "frames.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "detect_video.py",
            "--source",
            str(path),
            "--no-display",
            "--model",
            str(tiny_model),
            "--json",
            str(jsonl),
            "--max-frames",
            "5",
            "--no-track",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == 5 and all("track_id" not in f for r in rows for f in r["faces"])


def test_truncated_video_is_an_error_but_the_output_is_playable(tmp_path, tiny_model):
    cut, out = tmp_path / "cut.avi", tmp_path / "out.mp4"
    write_truncated_video(cut, frames=30)
    proc = cli(cut, "--no-display", "--model", tiny_model, "--output", out)
    assert_one_error(proc, "cut.avi: video ends at frame")
    frames, size, _ = read_back(out)
    assert 0 < frames < 27 and size == (320, 240)


def test_folder_with_a_bad_image_is_partial(tmp_path, tiny_model):
    folder, out, doc = tmp_path / "pics", tmp_path / "annotated", tmp_path / "results.json"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "a.jpg"), np.full((60, 80, 3), 120, np.uint8))
    cv2.imwrite(str(folder / "sub" / "b.png"), np.full((50, 40, 3), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "notes.txt").write_text("not an image, not reported")
    proc = cli(folder, "--no-display", "--model", tiny_model, "--output", out, "--json", doc)
    assert proc.returncode == 1
    expected = f"error: {folder / 'broken.jpg'}: not a readable image (corrupt or unsupported format)"
    assert proc.stderr.strip().splitlines() == [expected]
    results = json.loads(doc.read_text())["results"]
    assert sorted(Path(r["source"]).name for r in results) == ["a.jpg", "b.png"]
    assert {(r["width"], r["height"]) for r in results} == {(80, 60), (40, 50)}
    assert (out / "a.jpg").is_file() and (out / "sub" / "b.png").is_file()


def test_real_scene_image_boxes_in_original_pixels(tmp_path, tiny_model):
    scene = REPO.parent / "shared" / "data" / "mask-detection" / "images" / "maksssksksss14.jpg"
    if not scene.is_file():
        pytest.skip(f"{scene} is absent: shared data lives beside the repo (../shared/data)")
    doc = tmp_path / "r.json"
    proc = cli(scene, "--no-display", "--model", tiny_model, "--json", doc)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(doc.read_text())["results"][0]
    h, w = cv2.imread(str(scene)).shape[:2]
    assert (result["width"], result["height"]) == (w, h)
    assert result["faces"], "the unmasked face in this scene should be found"
    for face in result["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert face["label"] in ("mask", "no_mask") and 0 <= face["confidence"] <= 1


ERROR_CASES = {
    "missing file": (lambda d, m: [d / "nope.mp4", "--model", m], "nope.mp4: no such file"),
    "empty image": (lambda d, m: [d / "empty.jpg", "--model", m], "empty.jpg: file is empty"),
    "corrupt image": (lambda d, m: [d / "corrupt.png", "--model", m], "corrupt.png: not a readable image"),
    "corrupt video": (lambda d, m: [d / "corrupt.mp4", "--model", m], "corrupt.mp4: cannot open video"),
    "camera": (lambda d, m: ["97", "--model", m], "cannot open camera 97"),
    "missing model": (lambda d, m: [d / "ok.png", "--model", d / "none.tflite"], "none.tflite: model file not found"),
    "corrupt model": (lambda d, m: [d / "ok.png", "--model", d / "corrupt" / "m.tflite"], "SHA-256 does not match"),
    "model without card": (lambda d, m: [d / "ok.png", "--model", d / "nocard" / "m.tflite"], "model card missing"),
    "incompatible model": (
        lambda d, m: [d / "ok.png", "--model", d / "wrong" / "m.tflite"],
        "does not match its card's input_size 64",
    ),
    "video with images": (lambda d, m: [d / "ok.png", d / "corrupt.mp4", "--model", m], "cannot be mixed with images"),
    "empty folder": (lambda d, m: [d / "nothing", "--model", m], "no images in this folder"),
}


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, tiny_model) -> Path:
    d = tmp_path_factory.mktemp("bad_inputs")
    (d / "empty.jpg").write_bytes(b"")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (d / "corrupt.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"garbage" * 200)
    (d / "nothing").mkdir()
    cv2.imwrite(str(d / "ok.png"), np.full((40, 40, 3), 128, np.uint8))
    write_model_variant(tiny_model, d / "corrupt", data=b"not a flatbuffer" * 64)
    write_model_variant(tiny_model, d / "nocard", card=False)
    write_model_variant(tiny_model, d / "wrong", card_changes={"input_size": 64})
    return d


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_are_one_line(case, bad_inputs, tiny_model):
    make_args, fragment = ERROR_CASES[case]
    proc = cli(*make_args(bad_inputs, tiny_model), "--no-display")
    assert_one_error(proc, fragment)
    assert proc.returncode == 2


def test_window_without_a_display_is_a_clear_error(bad_inputs, tiny_model):
    assert_one_error(cli(bad_inputs / "ok.png", "--display", "--model", tiny_model, env=HEADLESS), "use --no-display")


# ---------------------------------------------------------------- names that are not plain text


def test_a_file_name_that_is_not_utf8_prints_escaped(tmp_path, tiny_model):
    folder = photo_folder(tmp_path)
    os.rename(folder / "a.jpg", os.path.join(os.fsencode(folder), b"\xff\xfe.jpg"))
    env = {**HEADLESS, "PYTHONIOENCODING": "utf-8:strict"}  # a strict UTF-8 terminal
    proc = run_isolated("detect", folder, "--no-display", "--model", tiny_model, "--json", tmp_path / "r.json", env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "\\udcff\\udcfe.jpg: 0 faces" in proc.stdout
    assert len(json.loads((tmp_path / "r.json").read_text())["results"]) == 2


def test_control_characters_in_names_are_escaped_on_stdout_and_in_errors(tmp_path, tiny_model):
    """Before: a newline in a good photo's name split its result line on stdout in two."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image(folder / "line\nbreak.jpg")
    image(folder / "esc\x1b[31mred.jpg")
    (folder / "bad\rname.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    proc = run_isolated("detect", folder, "--model", tiny_model)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.endswith("line\\nbreak.jpg: 0 faces") for line in lines), lines
    assert any(line.endswith("esc\\x1b[31mred.jpg: 0 faces") for line in lines), lines
    assert "\x1b" not in proc.stdout and "\r" not in proc.stdout
    assert len(lines) == 3  # two results and the totals, each on its own line
    errors = error_lines(proc)
    assert len(errors) == 1 and "bad\\rname.jpg" in errors[0] and "\r" not in proc.stderr, proc.stderr


def test_a_photo_with_a_video_output_name_is_refused_before_work(tmp_path, tiny_model):
    """Item 5: `detect photo.jpg --output x.mp4` made a folder named x.mp4 and exited 0."""
    proc = run_facemask(
        "detect", image(tmp_path / "photo.jpg", (160, 120)), "--output", tmp_path / "x.mp4", "--model", tiny_model
    )
    assert_one_error(proc, "names a video")
    assert not (tmp_path / "x.mp4").exists()
