"""The hostile corpus, round 2: each case failed before its fix and states the rule it now keeps.

Cases run the real command in its own session (test_hostile.facemask), so a hang fails the
test instead of blocking it and nothing the run started may outlive it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import assert_one_error
from test_hostile import _fifo, _video, facemask, fingerprint, partial_files
from video_fixtures import face_patch, write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------- 1. lists that name other files


def _concat_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"ffconcat version 1.0\nfile {target}\n")
    return path


def _hls_list(tmp: Path, target: str, name: str = "clip.mp4") -> Path:
    path = tmp / name
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: _concat_list(t, _fifo(t, "pipe.mp4").name), id="ffconcat naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, _video(t, "real.mp4").name), id="ffconcat naming a real video"),
        pytest.param(lambda t: _hls_list(t, _fifo(t, "pipe.ts").name), id="HLS playlist naming a FIFO"),
        pytest.param(lambda t: _concat_list(t, "/dev/stdin", name="clip.avi"), id="ffconcat naming standard input"),
    ],
)
def test_a_list_of_other_files_is_refused_not_followed(tmp_path, tiny_model, make):
    clip = make(tmp_path)
    before = fingerprint(tmp_path)
    proc = facemask("detect", clip, "--no-display", "--model", tiny_model, timeout=60)
    assert_one_error(proc, "it is text, not a video", code=2)
    assert fingerprint(tmp_path) == before and not partial_files(tmp_path)


def test_a_file_named_like_an_ffmpeg_protocol_is_read_as_a_file(tmp_path, monkeypatch):
    """`pipe:0` in the current folder is the file, not standard input: OpenCV gets an absolute path."""
    from facemask.sources import FileSource

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipe:0").write_bytes(b"\0not a video")
    opened = []

    class Refused:
        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    source = FileSource(Path("pipe:0"), capture_factory=lambda name: opened.append(name) or Refused())
    with pytest.raises(Exception, match="cannot open video"):
        source.start()
    assert opened == [str(tmp_path / "pipe:0")]


def test_app_clip_refuses_an_uploaded_list(tmp_path):
    """The page's clip path reads through FileSource too: an uploaded ffconcat list is one message."""
    from facemask.app_clip import process_clip
    from facemask.errors import FacemaskError

    with pytest.raises(FacemaskError, match="it is text, not a video"):
        process_clip("evil.mp4", b"ffconcat version 1.0\nfile /dev/stdin\n", None, 5.0)


# ---------------------------------------------------------------- 2. timeouts that round to "for ever"


def _silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(4)], daemon=True).start()
    return server, server.getsockname()[1]


@pytest.mark.parametrize("value", ["0.0001", "1e-9", "1e308", "86401"])
def test_open_timeout_out_of_range_is_refused_when_parsed(tiny_model, value):
    server, port = _silent_server()
    try:
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", value, timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "--open-timeout must be a number of seconds from 0.001 to 86400", code=2)


def test_open_timeout_is_rounded_up_to_a_whole_millisecond(monkeypatch):
    """0.0015 s is 2 ms, never 1 ms less, and never 0 ms (which OpenCV reads as no timeout)."""
    import facemask.sources as sources

    seen = []
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda src, api, params: seen.append(params))
    sources.open_capture("rtsp://x/live", 0.0015)
    sources.open_capture("rtsp://x/live", 0.001)
    assert [p[1] for p in seen] == [2, 1] and [p[3] for p in seen] == [2, 1]
    for bad in (0.0001, 0.0, float("nan"), float("inf"), 1e308):
        with pytest.raises(sources.FacemaskError, match="timeout must be from 0.001 to 86400 seconds"):
            sources.open_capture("rtsp://x/live", bad)


def test_a_one_millisecond_open_timeout_gives_up_at_once(tiny_model):
    server, port = _silent_server()
    try:
        t0 = time.monotonic()
        url = f"http://127.0.0.1:{port}/live"
        proc = facemask("detect", url, "--no-display", "--model", tiny_model, "--open-timeout", "0.001", timeout=60)
    finally:
        server.close()
    assert_one_error(proc, "no answer within 0.001 s", code=2)
    assert time.monotonic() - t0 < 40


# ---------------------------------------------------------------- 3. and 4. what --on-violation starts


def _marker() -> str:
    """A `sleep` duration no other process runs, so its processes can be found by their command line."""
    return f"{600 + os.getpid() % 100}.{time.time_ns() % 10**6:06d}"


def _processes_with(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


@pytest.fixture
def marker():
    mark = _marker()
    yield mark
    for pid in _processes_with(mark):  # a failing case must not leave ten-minute sleeps behind
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.parametrize(
    "command",
    [
        "sleep {m} &",  # the shell exits at once; its child lives on in the command's group
        "setsid sleep {m} &",  # a new session and group of its own
        "(setsid sleep {m} &); exit 0",  # twice forked: its parent is gone too
        "env -u FACEMASK_ACTION_TOKEN sleep {m} &",  # no token, but still in the command's session
        "setsid sh -c 'env -u FACEMASK_ACTION_TOKEN sleep {m}' &",  # no token, below one that has it
    ],
)
def test_what_a_command_left_running_is_ended_at_close(marker, command):
    from facemask.alert_actions import ActionWorker

    worker = ActionWorker(beep=False, command=command.format(m=marker), maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 10
    while not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processes_with(marker), "the command never started its sleep"
    time.sleep(0.2)  # the shell has exited: nothing of the command is running in the foreground
    worker.close(timeout=2.0)
    time.sleep(0.2)
    assert not _processes_with(marker), "a process the command started outlived close()"


def test_a_command_that_runs_over_its_time_is_ended_with_what_it_started(marker, monkeypatch):
    import facemask.alert_actions as actions

    monkeypatch.setattr(actions, "COMMAND_TIMEOUT_S", 0.5)
    worker = actions.ActionWorker(beep=False, command=f"setsid sleep {marker} & sleep {marker}", maxsize=2)
    worker.submit({"event": "violation", "track_id": 1})
    deadline = time.monotonic() + 10
    while (worker._count == 0 or worker._running is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(marker), "the timed-out command's processes are still running"
    worker.close(timeout=1.0)


def _violation_run(tmp_path: Path, tiny_model: Path, command: str, *options):
    """A clip with a real face read as no_mask for long enough: one violation runs `command`."""
    if face_patch() is None:
        pytest.skip("needs the shared face image (../shared/data) for a real violation")
    clip = tmp_path / "face.mp4"
    write_video(clip, frames=30, fps=10.0)
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


def test_a_command_escaping_into_its_own_session_does_not_outlive_the_cli(tmp_path, tiny_model, marker):
    started = tmp_path / "started"
    proc = _violation_run(tmp_path, tiny_model, f"touch {started}; setsid sleep {marker} &")
    assert proc.returncode == 0, proc.stderr
    assert started.exists(), "no violation was raised, so the command never ran"
    time.sleep(0.3)
    assert not _processes_with(marker), "the --on-violation command's child outlived the run"


def test_a_command_prints_to_stderr_not_into_json_on_stdout(tmp_path, tiny_model):
    proc = _violation_run(tmp_path, tiny_model, "echo ACTION-SAID-THIS; echo ACTION-ERR >&2", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(json.loads(line)["frame"] >= 0 for line in lines), proc.stdout[-500:]
    assert "ACTION-SAID-THIS" in proc.stderr and "ACTION-ERR" in proc.stderr
