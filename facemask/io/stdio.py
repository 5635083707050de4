"""The standard descriptors when the command was started without them (a shell's `>&-`).

A process started with descriptor 0, 1 or 2 closed would hand that number to the next file
it opens, so output meant for the terminal would land in an output file; and `--json -`
must fail with one line, not lose its results, when there is no standard output to write.
"""

from __future__ import annotations

import io
import os
import sys
from typing import IO

from facemask.core.errors import FacemaskError

_closed_at_start: set[int] = set()  # standard descriptors the process was started without


def standard_output() -> IO:
    """Where `--json -` writes: `sys.stdout`, or one error line when the command was started without one.

    A shell's `>&-` starts Python with descriptor 1 closed; `sys.stdout` is then None (or, once
    `reopen_closed_standard_fds` ran, /dev/null), and results written there would be lost or
    fail deep inside a sink.
    """
    stream = sys.stdout
    if stream is None or 1 in _closed_at_start:
        raise FacemaskError("--json -: standard output is closed (started with >&-); give --json a file name")
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return stream  # a Python stream with no descriptor (a test's capture) takes writes as it is
    try:
        os.fstat(fd)
    except OSError:
        raise FacemaskError("--json -: standard output is closed; give --json a file name") from None
    return stream


def reopen_closed_standard_fds() -> None:
    """Point descriptors 0, 1 and 2 at /dev/null when the process was started with them closed.

    Otherwise the next file opened takes the lowest free number: an output file opened as
    descriptor 2 would receive native libraries' messages, and one opened as 1 whatever a
    child process prints. `sys.stdout` and `sys.stderr`, None in that case, become /dev/null
    streams, so a print or a flush never fails; `standard_output` still knows stdout was closed.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            _closed_at_start.add(fd)
        if fd and getattr(sys, name) is None:  # Python found the descriptor closed when it started
            _closed_at_start.add(fd)
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the process's life
