"""Stop signals: the first one decides how the run ends (systemd sends SIGTERM then SIGHUP), and
a later one cannot kill the process while it closes its outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from conftest import HEADLESS, REPO, facemask_argv, wait_for_lines
from video_fixtures import write_video

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize(
    "delay", [0.0, 0.0, 0.002, 0.02, 0.3], ids=["together", "together-again", "2ms", "20ms", "300ms"]
)
def test_sigterm_then_sighup_ends_as_sigterm(tmp_path, tiny_model, delay):
    """systemd's stop (SIGTERM, then SIGHUP at once): exit 143 and `stopped by SIGTERM`, every time."""
    clip, jsonl = tmp_path / "clip.mp4", tmp_path / "f.jsonl"
    write_video(clip, frames=60, fps=5.0, with_face=False)  # --realtime: 12 s
    proc = subprocess.Popen(
        facemask_argv("detect", clip, "--no-display", "--realtime", "--model", tiny_model, "--json", jsonl),
        cwd=REPO,
        env=HEADLESS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for_lines(proc, tmp_path, "f*.jsonl", "the run ended before the signals")
    proc.send_signal(signal.SIGTERM)
    time.sleep(delay)
    proc.send_signal(signal.SIGHUP)
    _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, "stopped by SIGTERM") == (143, stderr.strip().splitlines()[-1]), stderr
    frames = [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()]
    assert frames and frames == sorted(set(frames))  # the JSON Lines were closed whole


def test_stop_signals_keep_the_first_and_let_sighup_yield_in_a_burst():
    from facemask.pipeline.stopsignals import BURST_CPU_S, BURST_S, Stopped, StopSignals

    term, hup, sigint = signal.SIGTERM, signal.SIGHUP, signal.SIGINT
    s = StopSignals()
    s._handle(term, None)
    s._handle(hup, None)
    assert s.received == term
    s = StopSignals()
    s._handle(hup, None)  # the kernel hands over SIGHUP (1) before SIGTERM (15) when both are pending
    s._handle(term, None)
    assert s.received == term
    s = StopSignals()
    s._handle(sigint, None)
    s._handle(term, None)
    assert s.received == sigint
    s = StopSignals()
    s._handle(hup, None)
    time.sleep(BURST_S + 0.1)
    with pytest.raises(Stopped):  # a later second signal: a real second request, and the first still decides
        s._handle(term, None)
    assert s.received == hup
    s = StopSignals()
    s._handle(hup, None)
    end = time.thread_time() + 2 * BURST_CPU_S
    while time.thread_time() < end:  # the run went on working (a frame) between the two: not one burst
        pass
    with pytest.raises(Stopped):
        s._handle(term, None)
    assert s.received == hup


def test_after_a_stop_signal_a_later_one_cannot_kill_the_process():
    from facemask.pipeline.stopsignals import StopSignals

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        with StopSignals() as s:
            s.settle()
            s._handle(signal.SIGTERM, None)
        for signum in before:  # ignored, not SIG_DFL, which would end the process with 128 + the later signal
            assert signal.getsignal(signum) == signal.SIG_IGN, signum  # (under nohup SIGHUP was ignored before too)
        with StopSignals():
            pass
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
    with StopSignals():  # a run no signal stopped leaves the handlers as it found them
        pass
    assert {signum: signal.getsignal(signum) for signum in before} == before
