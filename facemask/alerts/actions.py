"""The actions a violation triggers, the beep and the user's `--on-violation` command, off the capture thread.

One worker thread is fed by a bounded queue; when it falls behind, jobs are dropped and
counted rather than ever blocking the capture loop, and `close()` joins the worker with a
timeout, then ends every process the commands started that is still running.

A command may leave processes behind in ways its own process group cannot hold: `sleep 600 &`
(the shell exits at once, its child lives on), `setsid sleep 600 &` (a new session and group).
So each command runs with FACEMASK_ACTION_TOKEN=<this worker's random token> in its
environment, which every descendant inherits, and at the end `/proc` is searched for the
processes that carry it, that are in a command's session, or descend from either; all of them
are ended. Only a process that both leaves the session and clears its environment (`setsid env
-i ...`) escapes. The command's output goes to stderr: stdout may carry data (`--json -`).

The events output (sinks/events.py EventsSink) hands each violation over once it has written it, so
a command finds its snapshot saved, or `"snapshot": null` where it could not be.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0
TOKEN_ENV = "FACEMASK_ACTION_TOKEN"


class ActionWorker:
    """Runs the beep and the user's command for each violation on one background thread."""

    def __init__(self, beep: bool, command: str | None, maxsize: int) -> None:
        self.beep, self.command = beep, command
        self.dropped = 0
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize)
        self._running: subprocess.Popen | None = None  # the command now running, in its own session
        self._token = secrets.token_hex(16)
        self._sessions: set[int] = set()  # each command's session id (its shell's pid)
        self._count = 0
        self._closed = threading.Event()
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
        """Let queued jobs finish within `timeout`, then end every process a command started and left running;
        a second call does nothing."""
        if self._closed.is_set():
            return
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._closed.set()  # a job still queued starts no command now
        if self._thread.is_alive():
            log.warning("alert actions still running after %.0f s; stopping them", timeout)
        if not self.command:
            return
        every = f"{self._token}:"  # the prefix of every command's token
        self._stop_running(every, self._sessions)
        self._thread.join(1.0)
        self._stop_running(every, self._sessions)  # one the worker started while the first sweep ran

    def _stop_running(self, token: str, sessions: set[int]) -> None:
        """End every live process whose token starts with `token`, in one of `sessions`, or below either."""
        proc, sessions = self._running, set(sessions)
        for sig, wait_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
            targets = action_processes(token, sessions)
            if not targets:
                break
            for pid in targets:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if proc is not None:
                try:
                    proc.wait(wait_s)  # reap the shell so it does not linger as a zombie
                except subprocess.TimeoutExpired:
                    pass
            end = time.monotonic() + wait_s
            while action_processes(token, sessions) and time.monotonic() < end:
                time.sleep(0.02)

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
        if not self.command or self._closed.is_set():
            return
        self._count += 1
        token = f"{self._token}:{self._count}"  # the worker's token, then the command's number
        env = {**os.environ, "FACEMASK_EVENT": json.dumps(event), TOKEN_ENV: token}
        err = _stderr_fd()
        # Its own session: Ctrl-C in the terminal reaches us, not it; the token finds what it started.
        # Its output goes to stderr, never to stdout, which may be carrying JSON (`--json -`).
        self._running = subprocess.Popen(
            self.command, shell=True, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True
        )
        self._sessions.add(self._running.pid)
        try:
            returncode = self._running.wait(COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("--on-violation command ran over %.0f s and was stopped", COMMAND_TIMEOUT_S)
            self._stop_running(token + "\0", {self._running.pid})  # this command's token exactly
            return
        finally:
            if self._running.poll() is not None:
                self._running = None
        if returncode:
            log.warning("--on-violation command exited with status %d", returncode)


def _stderr_fd() -> int:
    """The descriptor Python's stderr writes to (the terminal even while native output is muted on 2)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, session id, state) for every process /proc shows."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(stat.parent.name)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def _carries(pid: int, token: bytes) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or another user's
        return False
    return token in b"\0" + environ


def action_processes(token: str, sessions: set[int] = frozenset()) -> list[int]:
    """Live processes started by `--on-violation` commands: those whose environment holds
    FACEMASK_ACTION_TOKEN starting with `token` (ending it with NUL matches it exactly), those in one
    of `sessions`, and their descendants. Never this process."""
    table = _proc_table()
    needle = f"\0{TOKEN_ENV}={token}".encode()
    me = os.getpid()
    found = {pid for pid, (_, sid, _) in table.items() if sid in sessions or _carries(pid, needle)}
    found.discard(me)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(found)
    while stack:  # a child that cleared its environment is still below one that carries the token
        for child in children.get(stack.pop(), []):
            if child not in found and child != me:
                found.add(child)
                stack.append(child)
    return sorted(pid for pid in found if table[pid][2] != "Z")
