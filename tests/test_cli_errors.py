"""The command line against bad input (issue 14): decompression bombs, FIFOs, outputs aimed at
inputs, broken model cards and runs, bad option values.

Every case builds its own nasty input, runs the real command in a subprocess in its own session,
and asserts: the exit code, one `error:` line and no traceback, every input file unchanged, no
output left half-written (no `*.partial-*`), and no process of the run left behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error, card_of, fingerprint, partial_files, run_isolated
from nasty_files import (
    fifo,
    flipped,
    image,
    jpeg_bomb,
    model_copy,
    nested_json,
    photo_folder,
    plain_video,
    png_bomb,
    tiff_bomb,
    two_class_dataset,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass(frozen=True)
class Case:
    """`make(tmp, model)` builds the inputs and returns the arguments; `absent` must not exist afterwards."""

    make: Callable[[Path, Path], list]
    fragment: str
    code: int = 2
    absent: tuple[str, ...] = ()
    max_error_lines: int = 1


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _with_bomb(tmp: Path) -> Path:
    folder = photo_folder(tmp)
    png_bomb(folder / "zz_bomb.png")
    return folder


def _with_bad_name(tmp: Path) -> Path:
    folder = photo_folder(tmp)
    (folder / "bad\nname.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return folder


def _dataset_with(tmp: Path, make_bad: Callable[[Path], Path]) -> Path:
    """A dataset whose only `without_mask` image is bad: evaluate must skip it and refuse to score."""
    root = two_class_dataset(tmp, per_class=1)
    for p in (root / "without_mask").iterdir():
        p.unlink()
    make_bad(root / "without_mask" / "bomb.tif")
    return root


def _broken_run(tmp: Path, what: str) -> Path:
    run = tmp / "run"
    run.mkdir()
    (run / "best.keras").write_bytes(b"PK\x03\x04 not a keras file")
    (run / "card_base.json").write_text(
        "{broken" if what == "card" else json.dumps({"threshold": 0.5, "test_metrics_keras_float32": {"accuracy": 0.9}})
    )
    (run / "eval_data.npz").write_bytes(b"PK\x03\x04 truncated zip" if what == "npz" else b"")
    if what != "npz":
        np.savez(
            run / "eval_data.npz",
            calib=np.zeros((1, 32, 32, 3), np.uint8),
            test_x=np.zeros((1, 32, 32, 3), np.uint8),
            test_y=np.zeros(1, np.int64),
        )
    return run


def _detect(source, model, *options) -> list:
    """`detect SOURCE --no-display --model MODEL OPTIONS`: the command every detect case varies."""
    return ["detect", source, "--no-display", "--model", model, *options]


CASES: dict[str, Case] = {
    # 1. an output aimed at an input
    "video --output is the input": Case(
        lambda t, m: _detect(plain_video(t), m, "--output", t / "clip.mp4"),
        "is the input itself",
    ),
    "folder --output is the folder": Case(
        lambda t, m: _detect(photo_folder(t), m, "--output", t / "photos"),
        "is the input itself",
    ),
    "image --json is the image": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--json", t / "p.jpg"),
        "is the input itself",
    ),
    "--output inside the input folder": Case(
        lambda t, m: _detect(photo_folder(t), m, "--json", t / "photos" / "r.json"),
        "inside the input folder",
    ),
    "image --output is the image's folder": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--output", t),
        "would overwrite the input",
    ),
    "--summary is the input via ..": Case(
        lambda t, m: _detect(plain_video(t), m, "--summary", t / "x" / ".." / "clip.mp4"),
        "is the input itself",
    ),
    "--json and --events one file": Case(
        lambda t, m: _detect(plain_video(t), m, "--json", t / "o.jsonl", "--events", t / "o.jsonl"),
        "given to both",
        absent=("o.jsonl",),
    ),
    "two images to one output name": Case(
        lambda t, m: [
            "detect",
            image(_folder(t / "a") / "x.jpg"),
            image(_folder(t / "b") / "x.jpg"),
            "--no-display",
            "--model",
            m,
            "--output",
            t / "out",
        ],
        "would both be written",
    ),
    # 2. outputs that cannot be written, refused before the run
    "--json is a folder": Case(lambda t, m: _detect(plain_video(t), m, "--json", t), "is a folder"),
    "--summary under a file": Case(
        lambda t, m: _detect(plain_video(t), m, "--json", t / "o.jsonl", "--summary", image(t / "p.jpg") / "s.json"),
        "not a folder",
        absent=("o.jsonl",),
    ),
    "--json to a FIFO with no reader": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--json", fifo(t, "out.json")),
        "named pipe with no reader",
    ),
    "video --output with no video suffix": Case(
        lambda t, m: _detect(plain_video(t), m, "--output", t / "out.txt"),
        "needs a video file name",
        absent=("out.txt",),
    ),
    "video --output /dev/null": Case(
        lambda t, m: _detect(plain_video(t), m, "--output", "/dev/null"),
        "needs a video file name",
    ),
    "video --output a FIFO named out.mp4": Case(
        lambda t, m: _detect(plain_video(t), m, "--output", fifo(t, "out.mp4")),
        "not a regular file",
    ),
    "--json /dev/full (a disk that is always full)": Case(
        lambda t, m: _detect(plain_video(t), m, "--json", "/dev/full"),
        "No space left on device",
    ),
    "a newline in a bad file's name": Case(lambda t, m: _detect(_with_bad_name(t), m), "bad\\nname.jpg: ", code=1),
    # 5. decompression bombs
    "30000x30000 PNG": Case(lambda t, m: _detect(png_bomb(t / "bomb.png"), m), "over the 50 MP limit"),
    "7000x7000 16-bit RGBA PNG (49 MP, 392 MB decoded)": Case(
        lambda t, m: _detect(png_bomb(t / "deep.png", 7000, depth=16, colour=6), m),
        "at 8 bytes a pixel",
    ),
    "65000x65000 JPEG header": Case(lambda t, m: _detect(jpeg_bomb(t / "bomb.jpg"), m), "over the 50 MP limit"),
    "bomb in a folder is skipped and listed": Case(
        lambda t, m: _detect(_with_bomb(t), m, "--json", t / "r.json"),
        "zz_bomb.png: 30000x30000",
        code=1,
    ),
    "--max-megapixels 0": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--max-megapixels", "0"),
        "must be a number above 0",
    ),
    "--max-megapixels inf": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--max-megapixels", "inf"),
        "must be a number above 0",
    ),
    "TIFF declaring 60000x60000": Case(
        lambda t, m: ["evaluate", _dataset_with(t, tiff_bomb), "--model", m], "declares more pixels", code=2
    ),
    "video frames over --max-megapixels": Case(
        lambda t, m: _detect(plain_video(t), m, "--max-megapixels", "0.05"),
        "320x240 frames are over the 0.05 MP limit",
    ),
    # 6. hangs
    "FIFO named x.jpg": Case(lambda t, m: _detect(fifo(t, "x.jpg"), m), "not a regular file"),
    "FIFO named x.mp4": Case(lambda t, m: _detect(fifo(t, "x.mp4"), m), "not a regular file"),
    "/dev/zero": Case(lambda t, m: _detect("/dev/zero", m), "not a regular file"),
    # 7. tracebacks that became one line
    "huge camera index": Case(lambda t, m: _detect("99999999999999999999", m), "too large for a camera index"),
    # 4. models against their cards
    "model with one flipped byte": Case(
        lambda t, m: _detect(image(t / "p.jpg"), model_copy(m, t / "m", data=flipped(m.read_bytes()))),
        "SHA-256 does not match",
    ),
    "card threshold NaN": Case(
        lambda t, m: _detect(
            image(t / "p.jpg"), model_copy(m, t / "m", card={**card_of(m), "threshold": float("nan")})
        ),
        "threshold must be",
    ),
    "card is a list": Case(
        lambda t, m: _detect(image(t / "p.jpg"), model_copy(m, t / "m", card=[1, 2])),
        "must be a JSON object",
    ),
    "card preprocessing null": Case(
        lambda t, m: _detect(image(t / "p.jpg"), model_copy(m, t / "m", card={**card_of(m), "preprocessing": None})),
        "preprocessing must be",
    ),
    "card is binary": Case(
        lambda t, m: _detect(image(t / "p.jpg"), model_copy(m, t / "m", raw_card=bytes(range(256)) * 4)),
        "not valid JSON",
    ),
    "card labels swapped": Case(
        lambda t, m: _detect(
            image(t / "p.jpg"), model_copy(m, t / "m", card={**card_of(m), "labels": ["no_mask", "mask"]})
        ),
        "in that order",
    ),
    # evaluate, benchmark, export, train
    "evaluate --json DIR": Case(
        lambda t, m: ["evaluate", two_class_dataset(t), "--model", m, "--json", t], "is a folder"
    ),
    "evaluate --plots FILE": Case(
        lambda t, m: ["evaluate", two_class_dataset(t), "--model", m, "--plots", image(t / "p.jpg")], "takes a folder"
    ),
    "evaluate --json inside the dataset": Case(
        lambda t, m: ["evaluate", two_class_dataset(t), "--model", m, "--json", t / "data" / "e.json"],
        "inside the input folder",
    ),
    "evaluate with one class all corrupt": Case(
        lambda t, m: [
            "evaluate",
            two_class_dataset(t, corrupt_class="without_mask"),
            "--model",
            m,
            "--json",
            t / "e.json",
        ],
        "no readable images of class 'no_mask'",
        absent=("e.json",),
    ),
    "benchmark --json DIR": Case(lambda t, m: ["benchmark", plain_video(t), "--model", m, "--json", t], "is a folder"),
    "export: broken card_base.json": Case(
        lambda t, m: ["export", _broken_run(t, "card")], "card_base.json: unreadable"
    ),
    "export: broken eval_data.npz": Case(lambda t, m: ["export", _broken_run(t, "npz")], "eval_data.npz: unreadable"),
    "export: broken best.keras": Case(
        lambda t, m: ["export", _broken_run(t, "keras"), "--quantize", "float16"], "cannot load Keras model"
    ),
    "train --batch-size 0": Case(
        lambda t, m: ["train", "--dataset", two_class_dataset(t), "--output", t / "run", "--batch-size", "0"],
        "--batch-size must be at least 1",
    ),
    "train --epochs 0": Case(
        lambda t, m: ["train", "--dataset", two_class_dataset(t), "--output", t / "run", "--epochs", "0"],
        "--epochs must be at least 1",
    ),
    "train --output FILE": Case(
        lambda t, m: ["train", "--dataset", two_class_dataset(t), "--output", image(t / "p.jpg")], "--output is a file"
    ),
    "train --output inside the dataset": Case(
        lambda t, m: ["train", "--dataset", two_class_dataset(t), "--output", t / "data" / "run"],
        "overlaps the dataset",
    ),
    "train unwritable --cache-dir": Case(
        lambda t, m: [
            "train",
            "--dataset",
            two_class_dataset(t),
            "--output",
            t / "run",
            "--cache-dir",
            image(t / "p.jpg") / "c",
        ],
        "--cache-dir is not a writable folder",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name, tmp_path, tiny_model):
    case = CASES[name]
    args = case.make(tmp_path, tiny_model)
    before = fingerprint(tmp_path)
    proc = run_isolated(*args, timeout=120)
    assert_one_error(proc, case.fragment, case.code)
    after = fingerprint(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before, "an input file changed"
    assert not partial_files(tmp_path), partial_files(tmp_path)
    for absent in case.absent:
        assert not (tmp_path / absent).exists(), f"{absent} exists after a failed run"


def test_output_beside_a_device_gets_no_summary_file():
    assert not Path("/dev/full_summary.json").exists()  # the case above would have put one there


# ---------------------------------------------------------------- options and files refused before the run


def test_a_face_model_folder_without_res10_is_refused_not_ignored(tmp_path, tiny_model):
    """--face-model holds res10's files; with the default CenterFace it would do nothing, so it is refused."""
    proc = run_isolated(
        "detect", image(tmp_path / "p.jpg"), "--no-display", "--model", tiny_model, "--face-model", tmp_path
    )
    assert_one_error(proc, "--face-model is a folder of res10 SSD files: add --face-detector res10", code=2)


def test_a_deeply_nested_card_base_is_one_error(tmp_path):
    run = _broken_run(tmp_path, "keras")
    (run / "card_base.json").write_text(nested_json())
    proc = run_isolated("export", run, "--quantize", "float16")
    assert_one_error(proc, "card_base.json: unreadable or incomplete (RecursionError", code=2)
