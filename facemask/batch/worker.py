"""A batch worker: loads the models once, then turns whole video files into their outputs.

The same class runs inside a Ray actor (batch/cluster.py) and, without Ray, in this process.
Each file goes through the one builder and the one loop with the outputs `facemask detect`
opens (sinks/video_outputs.py), so its JSON Lines are what `facemask detect FILE --json` writes.
A tracked pipeline carries state, so each file gets its own, around the worker's loaded models.

In an actor the worker holds itself to one thread (OpenCV, LiteRT; batch/cluster.py passes
OMP_NUM_THREADS=1, set before the models load): N workers on N cores then never fight over them. A file
stopped mid-way (SIGTERM to the worker) leaves no output under its real name; the actor ends
itself with that signal, so the batch replaces it and runs the file again (batch/cluster.py). An actor
also ends itself so when the driver that holds the batch lock is gone (batch/guard.py): then nothing
of the file is committed.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from contextlib import ExitStack
from dataclasses import replace
from time import perf_counter
from typing import TYPE_CHECKING

from facemask.batch.guard import DriverWatch, GuardedSink
from facemask.batch.plan import FileJob
from facemask.batch.report import FileResult
from facemask.core.config import AlertOutputConfig, PipelineConfig
from facemask.core.errors import FacemaskError, one_line

if TYPE_CHECKING:  # annotations only: the pipeline loads when a file is processed
    from facemask.pipeline.run import Pipeline
    from facemask.sinks.base import Sink


class BatchStopped(Exception):
    """A stop signal ended a file mid-way in this process; its outputs were dropped."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class FileWorker:
    """`process(job) -> FileResult` for one whole file at a time; a file's failure is its result, never raised."""

    def __init__(self, config: PipelineConfig, in_actor: bool = False, env: dict[str, str] | None = None) -> None:
        """`env`: variables set here before any library loads (an actor's thread count, the pixel budget).

        Set by the worker itself rather than through a Ray runtime environment, which costs each
        actor about a second to start.
        """
        os.environ.update(env or {})
        from facemask.classification.classifier import MaskClassifier
        from facemask.detection.loader import load_face_detector

        self.in_actor = in_actor
        if in_actor:
            config = single_threaded(config)
        self.config, self.node, self.error = config, node_name(), None
        self.detector = self.classifier = None
        try:  # a model that does not load is reported by `ready`, as one line, not as a dead actor
            self.detector = load_face_detector(config.detector)
            self.classifier = MaskClassifier(config.classifier) if config.classifier is not None else None
        except FacemaskError as exc:
            self.error = str(exc)

    @staticmethod
    def _events(pipeline: Pipeline, job: FileJob) -> Sink | None:
        """This file's events output, beside its other outputs (so its summary says where its violations are);
        a batch has no beep or command."""
        from facemask.alerts.outputs import events_output

        return events_output(AlertOutputConfig(events_path=job.events)) if pipeline.alerts is not None else None

    def ready(self) -> tuple[str, str | None]:
        """This worker's node and the error that kept its models from loading (None: ready)."""
        return self.node, self.error

    def process(self, job: FileJob) -> FileResult:
        start = perf_counter()
        watch = DriverWatch(job.out_dir) if self.in_actor else None  # who holds the batch lock now
        try:
            if watch is not None and watch.driver is None:
                raise BatchStopped(signal.SIGTERM)  # the driver died before this file began: nobody wants it
            summary = self._run(job, watch)
        except BatchStopped:
            if not self.in_actor:
                raise
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)  # end as asked: the batch replaces the actor, reruns the file
            raise
        except FacemaskError as exc:
            return FileResult.failed(job, one_line(str(exc)), self.node, _since(start))
        except Exception as exc:  # noqa: BLE001 - one odd file must not end the batch; it is reported instead
            return FileResult.failed(
                job, f"unexpected {type(exc).__name__}: {one_line(str(exc))}", self.node, _since(start)
            )
        return FileResult.from_summary(job, summary, self.node, _since(start))

    def _run(self, job: FileJob, watch: DriverWatch | None) -> dict:
        """One file through the pipeline; its summary, written last, once the other outputs are in place.
        With a `watch`, each output commits only while the batch's driver lives."""
        from facemask.io.sources import FileSource, source_kind
        from facemask.pipeline.builder import build_pipeline
        from facemask.sinks.video_outputs import write_summary

        if self.error is not None:
            raise FacemaskError(self.error)
        kind = source_kind(str(job.path))
        if kind != "video":
            raise FacemaskError(f"{job.path}: is an {kind}, not a video file")
        source = FileSource(job.path)
        with ExitStack() as stack:
            stack.callback(source.stop)
            source.start()
            pipeline = build_pipeline(self.config, self.detector, self.classifier)
            job.out_dir.mkdir(parents=True, exist_ok=True)
            sinks = job.outputs.sinks(source.fps, events=self._events(pipeline, job))
            if watch is not None:
                sinks = [GuardedSink(s, watch) for s in sinks]
            stats = pipeline.run(source, sinks, keep_on_stop=False)
        if stats.stop_signal is not None:
            raise BatchStopped(stats.stop_signal)
        if watch is not None and not watch.alive():  # its outputs were discarded, not committed
            raise BatchStopped(signal.SIGTERM)
        try:
            write_summary(job.outputs.summary, stats.summary)
        except FacemaskError:  # a full disk: the file failed, so nothing of it stays (and its space comes back)
            for path in job.files:
                path.unlink(missing_ok=True)
            raise
        return stats.summary


def _since(start: float) -> float:
    return round(perf_counter() - start, 2)


def single_threaded(config: PipelineConfig) -> PipelineConfig:
    """One OpenCV thread and one LiteRT thread per worker: a cluster runs one worker per core."""
    import cv2

    cv2.setNumThreads(1)
    if config.classifier is None:
        return config
    return replace(config, classifier=replace(config.classifier, threads=1))


def node_name() -> str:
    """This host's name, with the Ray node's id inside a Ray worker (two nodes may share one host)."""
    host = socket.gethostname()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        return f"{host}/{ray.get_runtime_context().get_node_id()[:8]}"
    return host
