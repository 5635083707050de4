"""The alert stage: the monitor's decisions, put on the frame for the outputs that record and act on them.

`Pipeline.run` feeds it each frame; it returns the frame's events, which the lane puts on the
`Frame` (`frame.events`) before any output writes. Deciding (monitor.py), writing and acting
(sinks/events.py EventsSink, which hands each violation to actions.py ActionWorker) stay apart, so
each is tested alone: the outputs are built by the caller (alerts/outputs.py), like any other.
"""

from __future__ import annotations

from facemask.alerts.monitor import ViolationMonitor
from facemask.core.config import AlertConfig
from facemask.core.types import Faces, Frame

OUTPUT_FIELDS = {"events_path": None, "snapshot_dir": None, "dropped_actions": 0}  # until an output says


class AlertStage:
    """The alerts stage as a run has it (`Pipeline.alerts`): `.monitor` decides; `update`, `counters`, `summary`.

    Where the events went is the outputs' to say: the summary holds OUTPUT_FIELDS (no events file, no
    snapshots, nothing dropped) for the lane to fill from its outputs' `summary_items`.
    """

    def __init__(self, config: AlertConfig | None = None, multi_class: bool = False) -> None:
        """`multi_class`: the model reads incorrect_mask (ViolationMonitor counts it apart)."""
        self.config = config or AlertConfig()
        self.monitor = ViolationMonitor(self.config, multi_class)

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        """The monitor's events for this frame (a violation's snapshot is the events output's to place)."""
        return self.monitor.update(frame, faces)

    def counters(self) -> dict:
        return self.monitor.counters()

    def summary(self) -> dict:
        """The monitor's summary, with the outputs' fields in their place, at their defaults."""
        return self.monitor.summary(dict(OUTPUT_FIELDS))
