"""Which way a batch runs: on Ray when it is installed, else one file after another in this process.

Both ways run the same FileWorker on each file and yield each file's result as it finishes.
Ray is imported here, lazily, and nowhere else: other commands never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from facemask.batch.plan import FileJob
from facemask.batch.report import FileResult
from facemask.batch.worker import FileWorker
from facemask.core.config import PipelineConfig
from facemask.core.errors import FacemaskError

NO_RAY_HINT = (
    "Ray is not installed: the files run one after another in this process "
    "(pip install 'facemask[cluster]' to run them in parallel)"
)


def import_ray() -> ModuleType | None:
    """The `ray` module, or None when it is not installed."""
    try:
        import ray
    except ImportError:
        return None
    return ray


@dataclass(frozen=True)
class Backend:
    """Where the files run: `ray` None means in this process."""

    ray: ModuleType | None
    address: str | None = None
    workers: int | None = None
    verbose: bool = False

    def describe(self, workers: int) -> str:
        """Where the videos run, as `processing ...` goes on."""
        if self.ray is None:
            return "in this process"
        where = f"the Ray cluster at {self.address}" if self.address else "a Ray cluster on this machine"
        return f"on {workers} worker{'s' if workers != 1 else ''} of {where}"


Started = Callable[[str], None] | None  # told where the videos run, once that is known


def run_jobs(
    backend: Backend, jobs: list[FileJob], config: PipelineConfig, started: Started = None
) -> Iterator[FileResult]:
    """Each job's result as it finishes; `started(text)` is told where they run once that is known."""
    if backend.ray is None:
        yield from run_in_process(jobs, config, started)
        return
    from facemask.batch.cluster import ray_session, run_on_ray

    with ray_session(backend.ray, backend.address, backend.workers, backend.verbose) as workers:
        workers = min(workers, len(jobs))
        if started is not None:
            started(backend.describe(workers))
        yield from run_on_ray(backend.ray, jobs, config, workers)


def run_in_process(jobs: list[FileJob], config: PipelineConfig, started: Started = None) -> Iterator[FileResult]:
    worker = FileWorker(config)
    _, error = worker.ready()
    if error is not None:
        raise FacemaskError(error)
    if started is not None:
        started(Backend(None).describe(1))
    for job in jobs:
        yield worker.process(job)
