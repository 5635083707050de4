"""SIGINT, SIGTERM and SIGHUP end a run the way Ctrl-C does: cleanly, after the current frame.

`kill`, `timeout`, `systemctl stop` and a closed terminal send SIGTERM or SIGHUP, whose default
action kills the process at once and leaves an mp4 without its index. Inside `StopSignals`
a signal only sets `received`; the loop finishes the frame in hand, stops, and its `finally`
closes every sink. While the loop waits for the source there is no frame to finish, so the
signal interrupts the wait at once (`Stopped`). A second signal does not wait for the frame.
Once the loop is over (`settle()`), signals are only noted, so closing the sinks is never cut short.
Handlers can only be installed from the main thread; elsewhere (the web app's workers) this
does nothing and Ctrl-C behaves as before.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

HANDLED = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Stopped(BaseException):
    """Raised out of a wait when a stop signal arrives; caught by the run loop, never by `except Exception`."""


class StopSignals:
    """Context manager: the first stop signal received (`received`, a signal number) or None."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._waiting = False
        self._settled = False
        self._saved: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()

    def _handle(self, signum: int, _frame) -> None:
        again = self.received is not None
        if not again:
            self.received = signum
        if not self._settled and (self._waiting or again):
            raise Stopped

    def settle(self) -> None:
        """The loop is over: later signals are noted but never interrupt (sinks are closing)."""
        self._settled = True

    @contextmanager
    def waiting(self):
        """A blocking wait with no work in hand (reading the source): a signal ends it at once."""
        if self.received is not None:
            raise Stopped
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (130, 143, 129)."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
