"""The outputs of a run's violation events, built by the caller like its JSON Lines and video: the events
file and snapshots (sinks/events.py), then the beep and `--on-violation` (actions.py), as one output."""

from __future__ import annotations

from facemask.alerts.actions import ActionWorker
from facemask.core.config import AlertOutputConfig
from facemask.sinks.events import EventsSink


def events_output(config: AlertOutputConfig) -> EventsSink:
    """The events output `config` asks for; without a file, snapshots or actions it writes nothing, and still
    logs each event (`-v`). Opens the events file: build it for the run it serves, once its source is open."""
    actions = None
    if config.beep or config.on_violation:
        actions = ActionWorker(config.beep, config.on_violation, config.action_queue)
    try:
        return EventsSink(config.events_path, config.snapshot_dir, actions)
    except BaseException:
        if actions is not None:
            actions.close()
        raise
