"""SIGINT, SIGTERM and SIGHUP end a run the way Ctrl-C does: cleanly, after the current frame.

`kill`, `timeout`, `systemctl stop` and a closed terminal send SIGTERM or SIGHUP, whose default
action kills the process at once and leaves an mp4 without its index. Inside `StopSignals`
a signal only sets `received`; the loop finishes the frame in hand, stops, and its `finally`
closes every sink. While the loop waits for the source there is no frame to finish, so the
signal interrupts the wait at once (`Stopped`). A second signal does not wait for the frame.
Once the loop is over (`settle()`), signals are only noted, so closing the sinks is never cut short.
Handlers can only be installed from the main thread; elsewhere (the web app's workers) this
does nothing and Ctrl-C behaves as before.

The first signal decides how the run ends (`stopped by SIGTERM`, exit 143), whatever follows:
- once a stop signal was received, leaving the block does not put back the default handlers
  (which would kill the process outright and report the later signal): later stop signals are
  ignored until the process exits;
- systemd sends SIGHUP right after SIGTERM (SendSIGHUP=yes), and when both are pending the
  kernel delivers the lower number first, SIGHUP (1) before SIGTERM (15). So a SIGHUP that
  comes with another stop signal in one burst yields to it. A burst is two signals handled
  within BURST_S of each other with under BURST_CPU_S of the main thread's CPU time between
  them (nothing but the handlers ran). The cost: SIGHUP and then, within a second, SIGTERM to
  a process with nothing to do reads as SIGTERM.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

HANDLED = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)
SIGHUP = getattr(signal, "SIGHUP", None)
# Signals pending together are handled a few bytecodes apart: the main thread does almost no work in
# between, though on a loaded machine it may wait for a CPU for a good while. Both bounds must hold.
BURST_S, BURST_CPU_S = 1.0, 0.005


class Stopped(BaseException):
    """Raised out of a wait when a stop signal arrives; caught by the run loop, never by `except Exception`."""


class StopSignals:
    """Context manager: the first stop signal received (`received`, a signal number) or None."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._received_at = (0.0, 0.0)  # monotonic and main-thread CPU time of the first signal
        self._waiting = False
        self._settled = False
        self._interrupted = False  # Stopped was raised
        self._saved: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._saved.items():
            # After a stop signal the process is on its way out with that signal's status: a second
            # one must not kill it (a default handler) or change what it reports. SIG_IGN, not a
            # Python handler: the interpreter puts SIG_DFL back in place of those as it shuts down.
            signal.signal(signum, signal.SIG_IGN if self.received is not None else handler)
        self._saved.clear()

    def _handle(self, signum: int, frame) -> None:
        now = (time.monotonic(), time.thread_time())  # handlers run on the main thread
        if self.received is None and frame is not None and frame.f_code is _HANDLE_CODE:
            # This handler interrupted another one (Python runs a pending handler at the first
            # instruction of the running one) before that one recorded its signal: it came first.
            self.received, self._received_at = frame.f_locals["signum"], now
        if self.received is None:
            self.received, self._received_at = signum, now
            interrupt = self._waiting  # a wait ends at once; a frame in hand is finished first
        elif now[0] - self._received_at[0] < BURST_S and now[1] - self._received_at[1] < BURST_CPU_S:
            if self.received == SIGHUP:  # the same stop request, delivered together: the kernel put
                self.received = signum  # SIGHUP first, but it was most likely sent second
            interrupt = self._waiting
        else:
            interrupt = True  # a second, later signal does not wait for the frame in hand
        if interrupt and not self._settled and not self._interrupted:
            self._interrupted = True  # once: a second Stopped raised while the first unwinds
            raise Stopped  # (through a lock's release, say) would leave things half undone

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


_HANDLE_CODE = StopSignals._handle.__code__


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (130, 143, 129)."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
