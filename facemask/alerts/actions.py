"""The actions a violation triggers, the beep and the user's `--on-violation` command, off the capture thread.

One worker thread is fed by a bounded queue; when it falls behind, jobs are dropped and
counted rather than ever blocking the capture loop, and `close()` joins the worker with a
timeout, ending a command still running (and everything it started) after it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0


class ActionWorker:
    """Runs the beep and the user's command for each event on one background thread."""

    def __init__(self, beep: bool, command: str | None, maxsize: int) -> None:
        self.beep, self.command = beep, command
        self.dropped = 0
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize)
        self._running: subprocess.Popen | None = None  # the command now running, in its own process group
        self._thread = threading.Thread(target=self._run, name="facemask-alert-actions", daemon=True)
        self._thread.start()

    def submit(self, event: dict) -> None:
        """Queue the actions for an event; never waits. A full queue drops the job."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            log.warning("alert actions are falling behind; dropped the one for track %s", event.get("track_id"))

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Let queued jobs finish within `timeout`, then stop waiting (the thread is a daemon)."""
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("alert actions still running after %.0f s; stopping them", timeout)
            self._stop_running()
            self._thread.join(1.0)

    def _stop_running(self) -> None:
        """End the running command and everything it started (its process group), so none outlives the run."""
        proc = self._running
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
            try:
                os.killpg(proc.pid, sig)  # the group id is the shell's pid, still ours until it is reaped
            except (ProcessLookupError, PermissionError):
                return
            try:
                proc.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._act(event)
            except Exception:  # a failing action must not kill the worker and silence later alerts
                log.exception("alert action failed")

    def _act(self, event: dict) -> None:
        if self.beep:
            sys.stderr.write("\a")
            sys.stderr.flush()
        if not self.command:
            return
        env = {**os.environ, "FACEMASK_EVENT": json.dumps(event)}
        # Its own process group: Ctrl-C in the terminal reaches us, not it, and on a timeout or at
        # close() the whole group (the shell and what it started) is ended together.
        self._running = subprocess.Popen(
            self.command, shell=True, env=env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            returncode = self._running.wait(COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("--on-violation command ran over %.0f s and was stopped", COMMAND_TIMEOUT_S)
            self._stop_running()
            return
        finally:
            if self._running.poll() is not None:
                self._running = None
        if returncode:
            log.warning("--on-violation command exited with status %d", returncode)
