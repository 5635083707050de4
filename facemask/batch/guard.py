"""A Ray worker's outputs appear only while its batch's driver lives.

A driver SIGKILLed mid-batch takes its lock with it (the kernel lets a `flock` go), but Ray may
keep its workers running for a minute more, and a worker finishing its file then would commit
outputs nobody asked for any more (and race the next batch on that folder). So a worker in an
actor notes who holds the batch lock when it takes a file (`DriverWatch`), and each of the file's
outputs checks that the same driver still holds it right before it commits, and before it saves a
snapshot: once the driver is gone its outputs are discarded, and the run stops within CHECK_S
(`wants_stop`). batch/worker.py then ends the actor, as after a stop signal.
"""

from __future__ import annotations

from pathlib import Path
from time import monotonic

from facemask.batch.lock import LOCK_NAME, lock_holder
from facemask.core.types import Faces, Frame
from facemask.sinks.base import Sink

CHECK_S = 1.0  # how often a running file looks for its driver; every commit looks afresh


class DriverWatch:
    """Whether the driver that held `out_dir`'s batch lock when the file started holds it still."""

    def __init__(self, out_dir: Path) -> None:
        self.lock = Path(out_dir) / LOCK_NAME
        self.driver = lock_holder(self.lock)
        self._alive, self._checked = self.driver is not None, monotonic()

    def alive(self, fresh: bool = True) -> bool:
        """Asked afresh, or (`fresh` False, once a frame) at most every CHECK_S."""
        if self._alive and (fresh or monotonic() - self._checked >= CHECK_S):
            self._alive, self._checked = lock_holder(self.lock) == self.driver, monotonic()
        return self._alive


class GuardedSink(Sink):
    """`sink`, committed only while the driver lives, and discarded once it is dead."""

    def __init__(self, sink: Sink, watch: DriverWatch) -> None:
        self.sink, self.watch = sink, watch

    @property
    def needs_image(self) -> bool:
        return self.sink.needs_image

    @property
    def wants_stop(self) -> bool:
        return self.sink.wants_stop or not self.watch.alive(fresh=False)

    def write(self, frame: Frame, faces: Faces) -> None:
        if not frame.events or self.watch.alive():  # a violation saves its snapshot now: look first
            self.sink.write(frame, faces)

    def close(self) -> None:
        if self.watch.alive():
            self.sink.close()
        else:
            self.sink.discard()

    def summary_items(self) -> dict:
        return self.sink.summary_items()

    def discard(self) -> None:
        self.sink.discard()
