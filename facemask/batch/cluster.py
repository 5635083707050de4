"""The batch on Ray: one actor per CPU, each loading the models once and taking whole files from a queue.

Only `facemask batch` imports this module, and only when Ray is installed: no other command
ever loads Ray. Files are handed out biggest first, one at a time, to whichever worker is free,
so a long file started early does not hold up the end of the batch.

A worker killed mid-file (OOM killer, `kill -9`, a lost node) is restarted by Ray
(`max_restarts=-1`) and its file run again from the start (`max_task_retries`); its partial
outputs (`NAME.partial-<pid>-<hex>.ext`) never reach the real names and go when the file's
outputs commit. After RETRIES retries the file is reported as failed and the batch goes on.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from facemask.batch.plan import FileJob
from facemask.batch.report import FileResult
from facemask.batch.worker import BatchStopped, FileWorker
from facemask.core.config import PipelineConfig
from facemask.core.errors import FacemaskError, one_line
from facemask.io.imageio import MAX_PIXELS_ENV
from facemask.pipeline.stopsignals import StopSignals

RETRIES = 2  # runs of a file after its worker died, before it is reported as failed
POLL_S = 0.5  # how often the wait for results looks for a stop signal


@contextmanager
def ray_session(ray: ModuleType, address: str | None, workers: int | None, verbose: bool) -> Iterator[int]:
    """Join the cluster at `address`, or start a local one of `workers` CPUs; yields how many workers to run.

    A session some caller already opened (`ray.init` in a notebook, a test) is used as it is and left open.
    """
    owned = not ray.is_initialized()
    if owned:
        quiet = {"logging_level": logging.INFO if verbose else logging.ERROR, "log_to_driver": verbose}
        try:
            if address:
                check_reachable(address)
                ray.init(address=address, **quiet)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            if not address:
                raise FacemaskError(f"cannot start a local Ray cluster ({one_line(str(exc))})") from None
            raise FacemaskError(
                f"cannot join the Ray cluster at {address} ({one_line(str(exc))}); is `ray start --head` running "
                "there, and is RAY_AUTH_MODE set here as on its nodes?"
            ) from None
    try:
        yield workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if owned:
            ray.shutdown()


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A `HOST:PORT` nobody listens on is one line in seconds; Ray itself would retry it for minutes."""
    found = re.fullmatch(r"\[?([\w.:-]+?)\]?:(\d+)", address)
    if found is None:
        return  # `auto`, `ray://...`: left to Ray
    try:
        socket.create_connection((found.group(1), int(found.group(2))), timeout=timeout_s).close()
    except OSError as exc:
        raise FacemaskError(f"--ray-address {address}: no Ray head answers there ({exc.strerror or exc})") from None


def worker_env() -> dict[str, str]:
    """Set in every worker before it starts: one OpenMP thread, and this run's pixel budget (--max-megapixels)."""
    env = {"OMP_NUM_THREADS": "1"}
    if os.environ.get(MAX_PIXELS_ENV):
        env[MAX_PIXELS_ENV] = os.environ[MAX_PIXELS_ENV]
    return env


def run_on_ray(
    ray: ModuleType, jobs: list[FileJob], config: PipelineConfig, workers: int, worker_class: type = FileWorker
) -> Iterator[FileResult]:
    """Each job's result as it finishes. A worker whose models do not load ends the batch with its one line.

    Ctrl-C, SIGTERM or SIGHUP end the batch between results (BatchStopped), so the report of the videos
    done is still written. The handlers go in after `ray.init`, which puts in its own, and only note the
    signal (`settle`): an exception raised inside Ray's `wait` would break it, so the wait polls instead.
    """
    actor_class = ray.remote(worker_class).options(num_cpus=1, max_restarts=-1, max_task_retries=RETRIES)
    actors = [
        actor_class.remote(config, in_actor=True, env=worker_env()) for _ in range(max(1, min(workers, len(jobs))))
    ]
    queue = deque(sorted(jobs, key=_size, reverse=True))
    waiting = {actor.ready.remote(): (actor, None) for actor in actors}  # a call in flight -> its actor, its job
    with StopSignals() as signals:
        signals.settle()
        while waiting:
            ref = _next_done(ray, waiting, signals)
            actor, job = waiting.pop(ref)
            if job is None:
                _check_ready(ray, ref)
            else:
                yield _result(ray, ref, job)
            if queue:
                job = queue.popleft()
                waiting[actor.process.remote(job)] = (actor, job)


def _next_done(ray: ModuleType, waiting: dict, signals: StopSignals):
    """The first call in flight to finish; a stop signal ends the wait within POLL_S."""
    while signals.received is None:
        done, _ = ray.wait(list(waiting), num_returns=1, timeout=POLL_S)
        if done:
            return done[0]
    raise BatchStopped(signals.received)


def _size(job: FileJob) -> int:
    try:
        return Path(job.path).stat().st_size
    except OSError:
        return 0


def _check_ready(ray: ModuleType, ref) -> None:
    try:
        _, error = ray.get(ref)
    except ray.exceptions.RayError as exc:
        raise FacemaskError(f"a batch worker could not start ({_first_line(exc)})") from None
    if error is not None:
        raise FacemaskError(error)


def _result(ray: ModuleType, ref, job: FileJob) -> FileResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError as exc:
        return FileResult.failed(job, f"its worker died {RETRIES + 1} times on it ({_first_line(exc)})")
    except ray.exceptions.RayError as exc:
        return FileResult.failed(job, f"worker failed ({_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
