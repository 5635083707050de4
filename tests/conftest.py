"""Shared fixtures: a tiny real model built through the project's own export path, and data paths."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TINY_SIZE = 32


HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
"""The environment without a display, as on a server: a run that needs a window must say so."""


def assert_one_error(proc, fragment: str, code: int | None = None) -> None:
    """The CLI's promise for bad input: one `error: ...` line on stderr naming `fragment`, no traceback,
    and a non-zero exit (exactly `code` when given)."""
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert fragment in lines[0], lines[0]
    if code is None:
        assert proc.returncode != 0, proc.stdout
    else:
        assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)


def facemask_argv(*args, module: str = "facemask") -> list[str]:
    """`python -m MODULE ARGS`, every argument as text: the command line a user types."""
    return [sys.executable, "-m", module, *map(str, args)]


def run_facemask(
    *args, module: str = "facemask", env: dict | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run the CLI from the repo root as a user would; the exit code is the test's to check."""
    return subprocess.run(
        facemask_argv(*args, module=module),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def wait_for_lines(proc: subprocess.Popen, folder: Path, pattern: str, why: str, lines: int = 3) -> None:
    """Block until a file in `folder` matching `pattern` has `lines` lines, so a signal lands mid-run;
    fail with `why` if the run ends first or two minutes pass."""
    deadline = time.monotonic() + 120
    while not any(len(p.read_text().splitlines()) >= lines for p in folder.glob(pattern)):
        assert proc.poll() is None and time.monotonic() < deadline, why
        time.sleep(0.05)


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: shared data lives beside the repo (../shared/data), not in it")
    return path


def build_brightness_model(path: Path) -> Path:
    """A Keras model whose answer is known: bright crops read `mask`, dark crops `no_mask`."""
    import keras

    inputs = keras.Input((TINY_SIZE, TINY_SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, out)
    model.layers[-1].set_weights([np.array([[4.0, -4.0]] * 3, np.float32), np.array([-6.0, 6.0], np.float32)])
    model.save(path)
    return path


def tiny_card() -> dict:
    return {
        "architecture": "tiny-test",
        "input_size": TINY_SIZE,
        "labels": ["mask", "no_mask"],
        "threshold": 0.5,
        "preprocessing": {"color": "RGB", "scale": 1.0, "offset": 0.0, "crop_margin": 0.15},
        "weights_init": "fixed",
    }


@pytest.fixture(scope="session")
def tiny_keras_model(tmp_path_factory) -> Path:
    """A `.keras` file with its card: bright -> mask, dark -> no_mask."""
    from facemask.training.export import write_card

    path = build_brightness_model(tmp_path_factory.mktemp("tiny_keras") / "tiny.keras")
    write_card(path, tiny_card())
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_keras_model, tmp_path_factory) -> Path:
    """The same model as float16 TFLite through `facemask.training.export.convert`, with its card."""
    from facemask.training.export import convert, write_card

    dest = tmp_path_factory.mktemp("tiny_tflite") / "tiny.tflite"
    convert(tiny_keras_model, "float16", np.zeros((0, TINY_SIZE, TINY_SIZE, 3), np.uint8), dest)
    write_card(dest, tiny_card())
    return dest


def card_of(model: Path) -> dict:
    return json.loads(model.with_suffix(".json").read_text())


def silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never sends a byte: a stream that never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(4)], daemon=True).start()
    return server, server.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """One local two-CPU Ray cluster per test module; a batch finds it open and leaves it open."""
    ray = pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")
    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()
    signal.signal(signal.SIGTERM, sigterm)  # ray.init's own handler outlives the shutdown; later tests need theirs


# --------------------------------------------------- the real command in its own session, and what it must leave behind


def run_isolated(*args, env: dict | None = None, timeout: float = 120, limit_bytes: int | None = None):
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
    return alive_with(3, sid)


def alive_with(field: int, value: int) -> list[int]:
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
    """Files left under a `.partial-` name: an output that was never finished or cleaned up."""
    return sorted(root.rglob("*.partial-*"))


def error_lines(proc) -> list[str]:
    """The `error:` lines of a run that may report several failures, after checking it printed no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by .ci/install_chromium.sh; Playwright drives it
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the page and report tests; they skip, saying why, where it is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: run .ci/install_chromium.sh (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install '.[test]'")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
