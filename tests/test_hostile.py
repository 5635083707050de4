"""A hostile-input and fault corpus (issue 14): nothing lost, nothing hung, no traceback.

Every case builds its own nasty input here (decompression bombs, FIFOs, outputs aimed at
inputs, broken model cards, a size-limited file for "disk full"), runs the real command in
a subprocess in its own session, and asserts: the exit code, one `error:` line and no
traceback, every input file unchanged, no output left half-written (no `*.partial-*`), and
no process of the run left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import HEADLESS, REPO, assert_one_error, card_of, facemask_argv, wait_for_lines
from video_fixtures import face_patch, read_back, write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MB = 2**20


# ---------------------------------------------------------------- generated nasty files


def png_bomb(path: Path, side: int = 30000, depth: int = 1, colour: int = 0) -> Path:
    """A complete, valid PNG of side x side pixels, all zeros: 1-bit gray by default, ~110 kB on disk
    and 900 MB once decoded as 8-bit. `depth=16, colour=6` makes 16-bit RGBA (8 bytes a pixel)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    comp = zlib.compressobj(6)
    rows = (b"\0" * (1 + (side * channels * depth + 7) // 8)) * 100
    idat = b"".join(comp.compress(rows) for _ in range(side // 100)) + comp.flush()
    header = struct.pack(">IIBBBBB", side, side, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def jpeg_bomb(path: Path, side: int = 65000) -> Path:
    """A JPEG whose frame header declares side x side pixels (4.2 gigapixels) on a few bytes."""
    _, buf = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))
    return path


def image(path: Path, size: tuple[int, int] = (40, 40)) -> Path:
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), 128, np.uint8))
    return path


def model_copy(
    tiny_model: Path, folder: Path, card=None, data: bytes | None = None, raw_card: bytes | None = None
) -> Path:
    """The tiny model (or other bytes) beside a card: its own, changed, or raw bytes."""
    folder.mkdir(exist_ok=True)
    dest = folder / "m.tflite"
    dest.write_bytes(tiny_model.read_bytes() if data is None else data)
    if raw_card is not None:
        dest.with_suffix(".json").write_bytes(raw_card)
    else:
        dest.with_suffix(".json").write_text(json.dumps(card_of(tiny_model) if card is None else card))
    return dest


def flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


# ---------------------------------------------------------------- running and checking


def facemask(*args, env: dict | None = None, timeout: float = 120, limit_bytes: int | None = None):
    """The real command in its own session; with `limit_bytes`, files it writes cannot grow past that (EFBIG)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    proc = subprocess.Popen(
        facemask_argv(*args),
        cwd=REPO,
        env=env or HEADLESS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=limit if limit_bytes else None,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"facemask {' '.join(map(str, args))} hung for {timeout} s")
    assert not session_members(proc.pid), f"processes left behind: {session_members(proc.pid)}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def session_members(sid: int) -> list[int]:
    """Processes still alive in the session the command ran in (none: nothing outlived it)."""
    return _alive_with(3, sid)


def _alive_with(field: int, value: int) -> list[int]:
    """Live (not zombie) processes whose /proc stat field after the name is `value` (2: group, 3: session)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[field]) == value and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def fingerprint(root: Path) -> dict[str, str]:
    """Every regular file under root with its SHA-256: inputs must come out byte for byte the same."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def partial_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.partial-*"))


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """`make(tmp, model)` builds the inputs and returns the arguments; `absent` must not exist afterwards."""

    make: Callable[[Path, Path], list]
    fragment: str
    code: int = 2
    absent: tuple[str, ...] = ()
    max_error_lines: int = 1


def _video(tmp: Path, name: str = "clip.mp4", **kw) -> Path:
    write_video(tmp / name, frames=kw.pop("frames", 12), with_face=False, **kw)
    return tmp / name


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _photos(tmp: Path) -> Path:
    folder = tmp / "photos"
    folder.mkdir()
    image(folder / "a.jpg")
    image(folder / "b.png")
    return folder


def _fifo(tmp: Path, name: str) -> Path:
    os.mkfifo(tmp / name)
    return tmp / name


def _with_bomb(tmp: Path) -> Path:
    folder = _photos(tmp)
    png_bomb(folder / "zz_bomb.png")
    return folder


def _with_bad_name(tmp: Path) -> Path:
    folder = _photos(tmp)
    (folder / "bad\nname.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    return folder


def tiff_bomb(path: Path, side: int = 60000) -> Path:
    """An 8x8 TIFF whose first IFD claims side x side pixels."""
    from PIL import Image

    Image.new("1", (8, 8)).save(path, format="TIFF")
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    for i in range(struct.unpack(order + "H", data[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            data[entry + 8 : entry + (10 if kind == 3 else 12)] = struct.pack(order + ("H" if kind == 3 else "I"), side)
    path.write_bytes(bytes(data))
    return path


def _dataset_with(tmp: Path, make_bad: Callable[[Path], Path]) -> Path:
    """A dataset whose only `without_mask` image is bad: evaluate must skip it and refuse to score."""
    root = _dataset(tmp, per_class=1)
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


def _dataset(tmp: Path, corrupt_class: str | None = None, per_class: int = 2) -> Path:
    root = tmp / "data"
    for cls, value in (("with_mask", 200), ("without_mask", 40)):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            if cls == corrupt_class:
                (root / cls / f"{i}.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
            else:
                cv2.imwrite(str(root / cls / f"{i}.png"), np.full((48, 48, 3), value, np.uint8))
    return root


def _detect(source, model, *options) -> list:
    """`detect SOURCE --no-display --model MODEL OPTIONS`: the command every detect case varies."""
    return ["detect", source, "--no-display", "--model", model, *options]


CASES: dict[str, Case] = {
    # 1. an output aimed at an input
    "video --output is the input": Case(
        lambda t, m: _detect(_video(t), m, "--output", t / "clip.mp4"),
        "is the input itself",
    ),
    "folder --output is the folder": Case(
        lambda t, m: _detect(_photos(t), m, "--output", t / "photos"),
        "is the input itself",
    ),
    "image --json is the image": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--json", t / "p.jpg"),
        "is the input itself",
    ),
    "--output inside the input folder": Case(
        lambda t, m: _detect(_photos(t), m, "--json", t / "photos" / "r.json"),
        "inside the input folder",
    ),
    "image --output is the image's folder": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--output", t),
        "would overwrite the input",
    ),
    "--summary is the input via ..": Case(
        lambda t, m: _detect(_video(t), m, "--summary", t / "x" / ".." / "clip.mp4"),
        "is the input itself",
    ),
    "--json and --events one file": Case(
        lambda t, m: _detect(_video(t), m, "--json", t / "o.jsonl", "--events", t / "o.jsonl"),
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
    "--json is a folder": Case(lambda t, m: _detect(_video(t), m, "--json", t), "is a folder"),
    "--summary under a file": Case(
        lambda t, m: _detect(_video(t), m, "--json", t / "o.jsonl", "--summary", image(t / "p.jpg") / "s.json"),
        "not a folder",
        absent=("o.jsonl",),
    ),
    "--json to a FIFO with no reader": Case(
        lambda t, m: _detect(image(t / "p.jpg"), m, "--json", _fifo(t, "out.json")),
        "named pipe with no reader",
    ),
    "video --output with no video suffix": Case(
        lambda t, m: _detect(_video(t), m, "--output", t / "out.txt"),
        "needs a video file name",
        absent=("out.txt",),
    ),
    "video --output /dev/null": Case(
        lambda t, m: _detect(_video(t), m, "--output", "/dev/null"),
        "needs a video file name",
    ),
    "video --output a FIFO named out.mp4": Case(
        lambda t, m: _detect(_video(t), m, "--output", _fifo(t, "out.mp4")),
        "not a regular file",
    ),
    "--json /dev/full (a disk that is always full)": Case(
        lambda t, m: _detect(_video(t), m, "--json", "/dev/full"),
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
        lambda t, m: _detect(_video(t), m, "--max-megapixels", "0.05"),
        "320x240 frames are over the 0.05 MP limit",
    ),
    # 6. hangs
    "FIFO named x.jpg": Case(lambda t, m: _detect(_fifo(t, "x.jpg"), m), "not a regular file"),
    "FIFO named x.mp4": Case(lambda t, m: _detect(_fifo(t, "x.mp4"), m), "not a regular file"),
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
    "evaluate --json DIR": Case(lambda t, m: ["evaluate", _dataset(t), "--model", m, "--json", t], "is a folder"),
    "evaluate --plots FILE": Case(
        lambda t, m: ["evaluate", _dataset(t), "--model", m, "--plots", image(t / "p.jpg")], "takes a folder"
    ),
    "evaluate --json inside the dataset": Case(
        lambda t, m: ["evaluate", _dataset(t), "--model", m, "--json", t / "data" / "e.json"], "inside the input folder"
    ),
    "evaluate with one class all corrupt": Case(
        lambda t, m: ["evaluate", _dataset(t, corrupt_class="without_mask"), "--model", m, "--json", t / "e.json"],
        "no readable images of class 'no_mask'",
        absent=("e.json",),
    ),
    "benchmark --json DIR": Case(lambda t, m: ["benchmark", _video(t), "--model", m, "--json", t], "is a folder"),
    "export: broken card_base.json": Case(
        lambda t, m: ["export", _broken_run(t, "card")], "card_base.json: unreadable"
    ),
    "export: broken eval_data.npz": Case(lambda t, m: ["export", _broken_run(t, "npz")], "eval_data.npz: unreadable"),
    "export: broken best.keras": Case(
        lambda t, m: ["export", _broken_run(t, "keras"), "--quantize", "float16"], "cannot load Keras model"
    ),
    "train --batch-size 0": Case(
        lambda t, m: ["train", "--dataset", _dataset(t), "--output", t / "run", "--batch-size", "0"],
        "--batch-size must be at least 1",
    ),
    "train --epochs 0": Case(
        lambda t, m: ["train", "--dataset", _dataset(t), "--output", t / "run", "--epochs", "0"],
        "--epochs must be at least 1",
    ),
    "train --output FILE": Case(
        lambda t, m: ["train", "--dataset", _dataset(t), "--output", image(t / "p.jpg")], "--output is a file"
    ),
    "train --output inside the dataset": Case(
        lambda t, m: ["train", "--dataset", _dataset(t), "--output", t / "data" / "run"], "overlaps the dataset"
    ),
    "train unwritable --cache-dir": Case(
        lambda t, m: [
            "train",
            "--dataset",
            _dataset(t),
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
    proc = facemask(*args, timeout=120)
    assert_one_error(proc, case.fragment, case.code)
    after = fingerprint(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before, "an input file changed"
    assert not partial_files(tmp_path), partial_files(tmp_path)
    for absent in case.absent:
        assert not (tmp_path / absent).exists(), f"{absent} exists after a failed run"


def test_output_beside_a_device_gets_no_summary_file():
    assert not Path("/dev/full_summary.json").exists()  # the case above would have put one there


# ---------------------------------------------------------------- odd names and values that must still work


def test_a_file_name_that_is_not_utf8_prints_escaped(tmp_path, tiny_model):
    folder = _photos(tmp_path)
    os.rename(folder / "a.jpg", os.path.join(os.fsencode(folder), b"\xff\xfe.jpg"))
    env = {**HEADLESS, "PYTHONIOENCODING": "utf-8:strict"}  # a strict UTF-8 terminal
    proc = facemask("detect", folder, "--no-display", "--model", tiny_model, "--json", tmp_path / "r.json", env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "\\udcff\\udcfe.jpg: 0 faces" in proc.stdout
    assert len(json.loads((tmp_path / "r.json").read_text())["results"]) == 2


def test_a_long_output_name_still_gets_its_partial_file(tmp_path, tiny_model):
    dest = tmp_path / ("r" * 240 + ".json")
    proc = facemask("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", tiny_model, "--json", dest)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(dest.read_text())["results"][0]["source"].endswith("p.jpg")


def test_json_to_dev_stdout_is_written_in_place(tmp_path, tiny_model):
    """/dev/stdout (a pipe here) cannot be renamed over: it is written directly, and nothing is created in /dev."""
    clip = _video(tmp_path, frames=5)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, "--json", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(line)["frame"] for line in proc.stdout.splitlines() if line.startswith('{"frame"')]
    assert frames == list(range(5))
    assert not list(Path("/dev").glob("stdout*.partial-*")) and not Path("/dev/stdout_summary.json").exists()


def test_a_card_hash_in_capitals_is_accepted(tmp_path, tiny_model):
    card = card_of(tiny_model)
    model = model_copy(tiny_model, tmp_path / "m", card={**card, "model_sha256": card["model_sha256"].upper()})
    proc = facemask("detect", image(tmp_path / "p.jpg"), "--no-display", "--model", model)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- disk full (a size-limited file)


@pytest.mark.parametrize("what", ["--json", "--output"])
def test_full_disk_on_video_outputs_is_one_error_and_no_file(tmp_path, tiny_model, what):
    clip = _video(tmp_path, frames=30)  # 30 JSON lines are ~1.3 kB, the video more
    dest = tmp_path / ("out.jsonl" if what == "--json" else "out.mp4")
    before = fingerprint(tmp_path)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, what, dest, limit_bytes=600)
    assert_one_error(proc, "cannot write", code=2)
    assert "wrote" not in proc.stdout  # never reported as written
    assert not dest.exists() and not partial_files(tmp_path)
    assert fingerprint(tmp_path) == before


@pytest.fixture
def small_disk(tmp_path):
    """A real 128 kB filesystem (tmpfs), so a write fails with ENOSPC; skips where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("what", ["--json", "--output"])
def test_a_really_full_disk_is_one_error_and_leaves_it_empty(tmp_path, tiny_model, small_disk, what):
    clip = _video(tmp_path, frames=120)  # JSON Lines ~5.4 kB; the video more
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 124_000)  # 31 of the 32 pages: 4 kB left
    dest = small_disk / ("f.jsonl" if what == "--json" else "out.mp4")
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, what, dest)
    # The encoder may report ENOSPC on a write, or only leave a file that does not read back at close.
    assert_one_error(proc, "No space left on device" if what == "--json" else f"{dest}: cannot write", code=2)
    assert "wrote" not in proc.stdout.replace("wrote summary", "")  # the failed output is never reported
    left = sorted(p.name for p in small_disk.iterdir())
    assert left in (["filler"], ["f_summary.json", "filler"]), left  # the partial file is gone
    if "f_summary.json" in left:  # the run's summary (of the frames it did process) is whole JSON
        json.loads((small_disk / "f_summary.json").read_text())


def test_full_disk_on_image_batch_json(tmp_path, tiny_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(40):
        image(folder / f"{i:02d}.png")
    dest = tmp_path / "results.json"
    proc = facemask("detect", folder, "--no-display", "--model", tiny_model, "--json", dest, limit_bytes=1500)
    assert_one_error(proc, "cannot write", code=2)
    assert not dest.exists() and not partial_files(tmp_path)


def test_full_disk_on_annotated_images_keeps_only_whole_ones(tmp_path, tiny_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    noise = np.random.default_rng(0)
    for i in range(12):  # noise: 00-05 annotate to ~15 kB, 06-11 to ~120 kB, over the per-file limit
        side = 60 if i < 6 else 200
        cv2.imwrite(str(folder / f"{i:02d}.png"), noise.integers(0, 256, (side, side, 3), np.uint8))
    out = tmp_path / "out"
    proc = facemask("detect", folder, "--no-display", "--model", tiny_model, "--output", out, limit_bytes=50_000)
    assert_one_error(proc, "cannot write", code=2)
    written = sorted(out.glob("*.png"))
    assert [p.name for p in written] == [f"{i:02d}.png" for i in range(6)] and not partial_files(tmp_path)
    assert all(cv2.imread(str(p)) is not None for p in written)  # every file that is there is whole


def test_full_disk_on_summary_after_the_run(tmp_path, tiny_model):
    """The summary is small; a limit it alone crosses (after the run) still ends in one line, no partial."""
    clip = _video(tmp_path, frames=6)
    proc = facemask(
        "detect", clip, "--no-display", "--model", tiny_model, "--summary", tmp_path / "s.json", limit_bytes=60
    )
    assert_one_error(proc, "s.json: cannot write", code=2)
    assert not (tmp_path / "s.json").exists() and not partial_files(tmp_path)


# ---------------------------------------------------------------- right answers where there was a wrong one


def test_a_killed_run_leaves_no_half_file_under_the_real_name(tmp_path, tiny_model):
    """SIGKILL mid-run (no cleanup possible): the real names stay absent or as they were; what was
    written is in files named `.partial-`, and its lines are whole."""
    clip = _video(tmp_path, frames=60, fps=5.0)  # --realtime: 12 s
    jsonl, video = tmp_path / "f.jsonl", tmp_path / "out.mp4"
    video.write_bytes(b"an earlier recording")
    proc = subprocess.Popen(
        facemask_argv(
            "detect", clip, "--no-display", "--realtime", "--model", tiny_model, "--json", jsonl, "--output", video
        ),
        cwd=REPO,
        env=HEADLESS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_lines(proc, tmp_path, "f.partial-*.jsonl", "the run ended before it could be killed")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not jsonl.exists() and video.read_bytes() == b"an earlier recording"
    (partial,) = tmp_path.glob("f.partial-*.jsonl")
    frames = [json.loads(line)["frame"] for line in partial.read_text().splitlines()]
    # Every line is whole JSON (parsed above) and in order; --realtime may drop a frame under load, so
    # the indices rise but need not start at 0 or be contiguous.
    assert frames == sorted(set(frames)) and len(frames) >= 3


def test_existing_output_is_replaced_only_when_complete(tmp_path, tiny_model):
    """A good earlier result stays until the new one is whole: a failed run leaves it untouched."""
    clip = _video(tmp_path, frames=20)
    dest = tmp_path / "frames.jsonl"
    dest.write_text('{"earlier": "result"}\n')
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, "--json", dest, limit_bytes=400)
    assert proc.returncode == 2
    assert dest.read_text() == '{"earlier": "result"}\n'


def test_http_mp4_is_read_as_a_file_every_frame(tmp_path, tiny_model):
    clip = _video(tmp_path, frames=25)
    handler = partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
        jsonl = tmp_path / "f.jsonl"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--json", jsonl)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()] == list(range(25))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_slow_clip_keeps_its_own_frame_rate(tmp_path, tiny_model):
    """A 0.5 fps time-lapse: time_s is 2 s a frame, and the recording plays at 0.5 fps."""
    clip = _video(tmp_path, name="slow.avi", frames=4, fps=0.5)
    jsonl, out = tmp_path / "f.jsonl", tmp_path / "out.avi"
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, "--json", jsonl, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["time_s"] for line in jsonl.read_text().splitlines()] == [0.0, 2.0, 4.0, 6.0]
    assert read_back(out)[2] == pytest.approx(0.5)


def test_odd_frame_size_is_kept_in_avi(tmp_path, tiny_model):
    """641x481 in, 641x481 out (.avi, Motion JPEG); H.264 needs even sides, so .mp4 pads to 642x482."""
    from facemask.io.videowriter import MjpegWriter

    clip = tmp_path / "odd.avi"
    writer = MjpegWriter(clip, 10.0, (641, 481))  # OpenCV's own writer could not even make this input
    for i in range(4):
        writer.write(np.full((481, 641, 3), 40 * i, np.uint8))
    writer.close()
    assert read_back(clip)[:2] == (4, (641, 481))
    for name, size in (("out.avi", (641, 481)), ("out.mp4", (642, 482))):
        proc = facemask("detect", clip, "--no-display", "--model", tiny_model, "--output", tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        assert read_back(tmp_path / name)[:2] == (4, size)


def test_bomb_peak_memory_in_the_cli(tmp_path, tiny_model):
    """The 30000x30000 PNG is refused from its header: the whole CLI run peaks far below 500 MB."""
    bomb = png_bomb(tmp_path / "bomb.png")
    peak_mb, child = _child_peak_mb(facemask_argv("detect", bomb, "--no-display", "--model", tiny_model))
    assert child["returncode"] == 2 and "over the 50 MP limit" in child["stderr"], child
    assert peak_mb < 500, peak_mb


def test_bomb_peak_memory_in_the_page(tmp_path, tiny_model):
    """The page's photo path (`analyze_photos`, Streamlit's own upload object aside) with the bomb upload."""
    pytest.importorskip("streamlit")
    bomb = png_bomb(tmp_path / "bomb.png")
    script = f"""
import resource, sys
from facemask.app.page import analyze_photos
from facemask.app.settings import Settings
class Upload:
    name, file_id = "bomb.png", "1"
    def __init__(self, data): self.data, self.size = data, len(data)
    def getvalue(self): return self.data
data = open({str(bomb)!r}, "rb").read()
out = analyze_photos([Upload(data)], Settings({str(tiny_model)!r}, 0.5, 0.5, 200, 30.0))
assert isinstance(out[0], str) and "over the 50 MP limit" in out[0], out
"""
    peak_mb, child = _child_peak_mb([sys.executable, "-c", script])
    assert child["returncode"] == 0, child["stderr"][-2000:]
    assert peak_mb < 500, peak_mb


def _child_peak_mb(cmd: list[str]) -> tuple[int, dict]:
    """Peak RSS of one command, measured by a small fresh parent.

    Linux carries a process's peak RSS across fork and exec, so a command started straight from
    pytest (TensorFlow loaded: ~900 MB) would report pytest's peak, not its own.
    """
    probe = (
        "import json, resource, subprocess, sys; "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(json.dumps({'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, "
        "'returncode': p.returncode, 'stderr': p.stderr}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *cmd],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=HEADLESS,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result.pop("peak_mb"), result


# ---------------------------------------------------------------- orphans


def test_on_violation_command_is_ended_with_the_run(tmp_path):
    """A command that outlives the run (and one it started in the background) is ended at close()."""
    from facemask.alerts.actions import ActionWorker

    marker = tmp_path / "still-running"
    worker = ActionWorker(beep=False, command=f"sleep 300 & sleep 300; touch {marker}", maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 10
    while worker._running is None and time.monotonic() < deadline:
        time.sleep(0.02)
    pgid = worker._running.pid
    t0 = time.monotonic()
    worker.close(timeout=0.5)
    assert time.monotonic() - t0 < 5
    time.sleep(0.2)
    assert not [pid for pid in _group_members(pgid)], "the command's processes outlived close()"
    assert not marker.exists()


def violation_run(tmp_path: Path, tiny_model: Path, command: str, *options, frames: int = 30):
    """A clip with a real face read as no_mask for long enough: one violation runs `command`."""
    if face_patch() is None:
        pytest.skip("needs the shared face image (../shared/data) for a real violation")
    clip = tmp_path / "face.mp4"
    write_video(clip, frames=frames, fps=10.0)
    return facemask(
        "detect",
        clip,
        "--no-display",
        "--model",
        tiny_model,
        "--mask-threshold",
        "0.01",
        "--violation-after",
        "0.2",
        "--events",
        tmp_path / "e.jsonl",
        "--on-violation",
        command,
        *options,
        timeout=120,
    )


def test_on_violation_command_does_not_outlive_the_cli(tmp_path, tiny_model):
    """End to end: a real violation starts `sleep`; the CLI exits and takes it with it."""
    marker = f"{60 + os.getpid() % 1000}.{time.time_ns() % 10**6}"  # a sleep no other process runs
    started = tmp_path / "started"
    proc = violation_run(tmp_path, tiny_model, f"touch {started}; sleep {marker}", frames=40)
    assert proc.returncode == 0, proc.stderr
    assert started.exists(), "no violation was raised, so the command never ran"
    time.sleep(0.5)
    assert not processes_with(marker), "the --on-violation command outlived the run"


def processes_with(text: str) -> list[int]:
    """Pids (other than this test's) whose command line holds `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def _group_members(pgid: int) -> list[int]:
    return _alive_with(2, pgid)


# ---------------------------------------------------------------- the page's lock


def test_the_page_locks_per_model_call_not_per_clip():
    """Two threads share one model: the lock is held during each call only, so another caller gets in between."""
    pytest.importorskip("streamlit")
    from facemask.app.page import Locked

    lock = threading.Lock()
    seen_locked = []

    class Model:
        config = "passes through"

        def detect(self, image):
            seen_locked.append(lock.locked())
            return image

    model = Locked(Model(), lock)
    assert model.config == "passes through"
    assert model.detect(1) == 1 and seen_locked == [True]
    assert not lock.locked()  # released between calls: a second tab's photo waits one frame, not a clip
