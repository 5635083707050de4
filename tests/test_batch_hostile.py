"""The batch against hostile set-ups (issue 40): an --output linked into the input folder, and workers that
outlive their driver (a driver SIGKILLed while Ray keeps its workers running): nothing of theirs may appear."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from video_fixtures import write_video

from facemask.batch.guard import DriverWatch, GuardedSink
from facemask.batch.lock import LOCK_NAME, batch_lock, lock_holder
from facemask.batch.plan import FileJob, plan_batch
from facemask.batch.worker import FileWorker
from facemask.cli import build_parser, main
from facemask.cli.configs import RunOptions, build_configs
from facemask.sinks.base import JsonlSink

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HOLD = "import sys, time; from pathlib import Path; from facemask.batch.lock import batch_lock\n" + (
    "with batch_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(300)"
)


def hold_lock(out: Path) -> subprocess.Popen:
    """Another process (a batch's driver) holding `out`'s batch lock until it is killed."""
    out.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def kill_and_wait(proc: subprocess.Popen, lock: Path) -> None:
    """SIGKILL, as a driver dies without a word; the kernel lets its lock go when the process is gone."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    assert lock_holder(lock) is None


def test_an_output_linked_into_the_input_folder_is_refused(tmp_path, capsys):
    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    write_video(videos / "a.mp4", frames=3)
    link = tmp_path / "out"
    link.symlink_to(videos / "sub")
    assert main(["batch", str(videos), "--output", str(link)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--output is inside the input folder" in err[0], err
    assert sorted(p.name for p in videos.rglob("*")) == ["a.mp4", "sub"]  # nothing written


def test_the_lock_names_its_holder_only_while_held(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with batch_lock(out) as lock:  # held by this process: a probe from another descriptor sees it held
        assert lock_holder(lock) == (os.getpid(), socket.gethostname())
    assert lock_holder(out / LOCK_NAME) is None
    driver = hold_lock(out)
    assert lock_holder(out / LOCK_NAME) == (driver.pid, socket.gethostname())
    kill_and_wait(driver, out / LOCK_NAME)
    assert (out / LOCK_NAME).exists()  # a killed batch's lock file stays, its lock does not


def test_an_output_is_discarded_not_committed_once_the_driver_is_dead(tmp_path):
    out = tmp_path / "out"
    driver = hold_lock(out)
    watch = DriverWatch(out)
    sink = GuardedSink(JsonlSink(out / "a.jsonl"), watch)
    assert watch.alive() and not sink.wants_stop
    kill_and_wait(driver, out / LOCK_NAME)
    sink.close()
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # no output, no partial left
    assert sink.wants_stop  # a running file stops too


class KillsItsDriver(FileWorker):
    """A worker whose driver is SIGKILLed once the worker has taken its file (and noted who holds the lock)."""

    def _run(self, job: FileJob, watch):
        lock = job.out_dir / LOCK_NAME
        try:
            os.kill(json.loads(lock.read_text())["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while lock_holder(lock) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return super()._run(job, watch)


def test_ray_workers_commit_nothing_after_their_driver_died(tmp_path):
    """The worker runs its whole file after the driver died: each output finds it gone before committing, so
    none appears; the worker ends itself, and each replacement finds no driver and ends before starting."""
    ray = pytest.importorskip("ray", reason="Ray is in the test extra: pip install -e '.[test]'")
    from facemask.batch.cluster import RETRIES, run_on_ray

    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    write_video(videos / "a.mp4", frames=10, with_face=True)
    driver = hold_lock(out)
    sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
        args = build_parser().parse_args(["batch", str(videos), "--output", str(out)])
        config = build_configs(RunOptions.from_args(args), "video").pipeline()
        (result,) = run_on_ray(ray, plan_batch(videos, out), config, 1, worker_class=KillsItsDriver)
    finally:
        ray.shutdown()
        signal.signal(signal.SIGTERM, sigterm)
        kill_and_wait(driver, out / LOCK_NAME)
    assert result.status != "ok" and f"died {RETRIES + 1} times" in result.error
    assert sorted(p.name for p in out.rglob("*")) == [LOCK_NAME]
