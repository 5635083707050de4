"""The batch on Ray: one actor per CPU, each loading the models once and taking whole files from a queue.

Only `facemask batch` imports this module, and only when Ray is installed: no other command
ever loads Ray. Files are handed out biggest first, one at a time, to whichever worker is free,
so a long file started early does not hold up the end of the batch.

A worker that dies mid-file (OOM killer, `kill -9`, its node lost) is replaced by a new actor,
which Ray places wherever a CPU is free, and its file goes back to the front of the queue, for the
next free worker: a lost node's files run again on the nodes left. Ray's own restarts are not used:
an actor whose node is gone cannot come back while the other nodes' CPUs are held by the other
workers, and its call fails at once (`ActorUnavailableError`) rather than being retried. Partial
outputs (`NAME.partial-<pid>-<hex>.ext`) never reach the real names and go when the file's outputs
commit. After RETRIES runs again the file is reported as failed and the batch goes on.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections import Counter, deque
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

RETRIES = 2  # runs of a file again after its worker died on it, before it is reported as failed
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
    The loop ends once every file has its result; a replacement worker still starting is not waited for.
    Run under the batch lock of the jobs' folder (cli/batch.py holds it): a worker finding no driver
    holding it commits nothing and ends (batch/guard.py).
    """
    pool = _Workers(ray, ray.remote(worker_class).options(num_cpus=1, max_restarts=0), config)
    for _ in range(max(1, min(workers, len(jobs)))):
        pool.start()
    queue = deque(sorted(jobs, key=_size, reverse=True))
    runs: Counter[str] = Counter()
    with StopSignals() as signals:
        signals.settle()
        while pool.files_in_flight() or (queue and pool.calls):
            ref = _next_done(ray, pool.calls, signals)
            actor, job = pool.calls.pop(ref)
            if job is None and not _started(ray, ref, alone=not pool.calls):
                continue  # a replacement that could not start either: the others take its share
            if job is not None:
                result, died = _result(ray, ref, job, runs[job.name])
                if result is not None:
                    yield result
                if died:  # killed for good and replaced; its file, unless out of runs, goes back in front
                    if result is None:
                        queue.appendleft(job)
                    pool.replace(actor, start=bool(queue))
                    continue
            if queue:
                job = queue.popleft()
                runs[job.name] += 1
                pool.calls[actor.process.remote(job)] = (actor, job)


class _Workers:
    """The batch's actors, and each call in flight on them -> (its actor, its job; None: the actor's start)."""

    def __init__(self, ray: ModuleType, actor_class, config: PipelineConfig) -> None:
        self.ray, self.actor_class, self.config = ray, actor_class, config
        self.calls: dict = {}

    def start(self) -> None:
        actor = self.actor_class.remote(self.config, in_actor=True, env=worker_env())
        self.calls[actor.ready.remote()] = (actor, None)

    def replace(self, actor, start: bool) -> None:
        """A dead (or unreachable) worker is killed for good; a new one starts while files are left."""
        self.ray.kill(actor, no_restart=True)
        if start:
            self.start()

    def files_in_flight(self) -> bool:
        return any(job is not None for _, job in self.calls.values())


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


def _started(ray: ModuleType, ref, alone: bool) -> bool:
    """Whether a worker came up. Models that do not load end the batch with their line; so does a worker
    that could not start at all when it is `alone` (no other worker to run the files)."""
    try:
        _, error = ray.get(ref)
    except ray.exceptions.RayError as exc:
        if alone:
            raise FacemaskError(f"a batch worker could not start ({_first_line(exc)})") from None
        return False
    if error is not None:
        raise FacemaskError(error)
    return True


def _result(ray: ModuleType, ref, job: FileJob, runs: int) -> tuple[FileResult | None, bool]:
    """The file's result (None: it runs again), and whether its worker died on it."""
    try:
        return ray.get(ref), False
    except ray.exceptions.RayActorError as exc:
        if runs <= RETRIES:
            return None, True
        return FileResult.failed(job, f"its worker died {runs} times on it ({_first_line(exc)})"), True
    except ray.exceptions.RayError as exc:
        return FileResult.failed(job, f"worker failed ({_first_line(exc)})"), False


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
