"""The alert stage: the monitor's decisions, put on the frame for the outputs that record and act on them.

`Pipeline.run` feeds it each frame; it returns the frame's events, which the lane puts on the
`Frame` (`frame.events`) before any output writes. Deciding (monitor.py), writing
(sinks/events.py EventsSink) and acting (actions.py ActionWorker) stay apart, so each is tested
alone: the last two are ordinary outputs (builder.build_pipeline puts them among the run's).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from facemask.alerts.actions import ActionWorker
from facemask.alerts.monitor import ViolationMonitor
from facemask.core.config import AlertConfig
from facemask.core.types import Faces, Frame
from facemask.sinks.events import snapshot_dir_for, snapshot_path

log = logging.getLogger(__name__)


class AlertStage:
    """The alerts stage as a run has it: the monitor decides, and says where each violation's snapshot goes.

    This is the monitor builder.build_pipeline gives a `pipeline.Pipeline` (`update`, `counters`,
    `summary`). The events file and snapshots (`config.events_path`, `snapshot_dir`) are written by
    the run's sinks.events.EventsSink; `actions` (the beep and `--on-violation`, also an output of
    the run) is held here only to report the jobs it dropped.
    """

    def __init__(
        self,
        config: AlertConfig | None = None,
        snapshot_dir: Path | None = None,
        actions: ActionWorker | None = None,
        multi_class: bool = False,
    ) -> None:
        """`multi_class`: the model reads incorrect_mask (ViolationMonitor counts it apart)."""
        self.config = config or AlertConfig()
        self.monitor = ViolationMonitor(self.config, multi_class)
        events_path = self.config.events_path
        if snapshot_dir is None and events_path is not None:
            snapshot_dir = snapshot_dir_for(events_path)
        self.snapshot_dir = snapshot_dir
        self.actions = actions

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        """The monitor's events for this frame, each violation with the path its snapshot is saved to."""
        events = self.monitor.update(frame, faces)
        if self.snapshot_dir is not None:
            events = [
                {**e, "snapshot": str(snapshot_path(self.snapshot_dir, e["track_id"], e["frame"]))}
                if e["event"] == "violation"
                else e
                for e in events
            ]
        for event in events:
            log.info("%s", json.dumps(event))
        return events

    def counters(self) -> dict:
        return self.monitor.counters()

    def summary(self) -> dict:
        """The monitor's summary, with where the events went and how many actions were dropped."""
        return self.monitor.summary(
            {
                "events_path": str(self.config.events_path) if self.config.events_path else None,
                "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
                "dropped_actions": self.actions.dropped if self.actions else 0,
            }
        )
