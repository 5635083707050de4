"""One exception type for everything a user can get wrong; the CLI prints it as one line."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LONG_MESSAGE = 500
PARTIAL_EXIT = 1  # a run over several inputs finished, but some inputs failed (each said why on stderr)


class FacemaskError(Exception):
    """A user-facing failure: bad input, missing model, dead camera. Printed as `error: ...`."""


def printable(text: str) -> str:
    """Control characters shown escaped (`\\n`, `\\x1b`), so a file name holding a newline stays on its line."""
    return _CONTROL.sub(
        lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(m.group(), f"\\x{ord(m.group()):02x}"), text
    )


def one_line(message: str) -> str:
    """A message as exactly one printable line.

    Control characters (a file name can hold a newline) are shown escaped, so nothing is lost;
    a long multi-line library message (Keras can run to 60 lines) keeps its first line.
    """
    message = message.strip()
    if len(message) > LONG_MESSAGE and "\n" in message:
        message = next(line.strip() for line in message.splitlines() if line.strip()) + " ..."
    return printable(message.replace("\t", " ")) or "(no message)"
