"""The alert stage: the monitor's decisions, written by the events output and acted on by the actions worker.

`Pipeline.run` feeds it each frame; it returns the frame's events. Deciding (monitor.py), writing
(sinks/events.py) and acting (actions.py) stay apart, so each is tested alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from facemask.alerts.actions import ActionWorker
from facemask.alerts.monitor import ViolationMonitor
from facemask.core.config import AlertConfig
from facemask.core.types import Faces, Frame
from facemask.sinks.events import EventsSink, snapshot_dir_for

log = logging.getLogger(__name__)


class AlertStage:
    """The alerts stage as a run has it: the monitor decides, the events output writes, the actions act.

    This is the monitor builder.build_pipeline gives a `pipeline.Pipeline` (`update`, `counters`,
    `summary`, `close`). The events file and snapshots (`config.events_path`, `snapshot_dir`) go through
    sinks.events.EventsSink; the beep and `--on-violation` run on the ActionWorker's thread.
    """

    def __init__(self, config: AlertConfig | None = None, snapshot_dir: Path | None = None) -> None:
        self.config = config or AlertConfig()
        self.monitor = ViolationMonitor(self.config)
        events_path = self.config.events_path
        if snapshot_dir is None and events_path is not None:
            snapshot_dir = snapshot_dir_for(events_path)
        self.snapshot_dir = snapshot_dir
        self.events = EventsSink(events_path, snapshot_dir) if (events_path or snapshot_dir) else None
        self._worker: ActionWorker | None = None
        if self.config.beep or self.config.on_violation:
            self._worker = ActionWorker(self.config.beep, self.config.on_violation, self.config.action_queue)
        self._closed = False

    def __enter__(self) -> AlertStage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, frame: Frame, faces: Faces) -> list[dict]:
        """The monitor's events for this frame, written (with their snapshots) and handed to the actions."""
        events = self.monitor.update(frame, faces)
        if events and self.events is not None:
            events = self.events.write(replace(frame, events=tuple(events)), faces)
        for event in events:
            log.info("%s", json.dumps(event))
            if self._worker is not None and event["event"] == "violation":
                self._worker.submit(event)
        return events

    def counters(self) -> dict:
        return self.monitor.counters()

    def summary(self) -> dict:
        """The monitor's summary, with where the events went and how many actions were dropped."""
        return self.monitor.summary(
            {
                "events_path": str(self.config.events_path) if self.config.events_path else None,
                "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
                "dropped_actions": self._worker.dropped if self._worker else 0,
            }
        )

    def close(self, keep: bool = True) -> None:
        """Finish queued actions (bounded wait) and close the events file (`keep=False`: remove it); safe to
        call twice."""
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._worker.close()
        if self.events is not None:
            (self.events.close if keep else self.events.discard)()

    def discard(self) -> None:
        self.close(keep=False)
