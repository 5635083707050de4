"""One exception type for everything a user can get wrong; the CLI prints it as one line."""

from __future__ import annotations

import re

# Control characters, and the bidi controls that would reorder the text around them (Trojan Source)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LONG_MESSAGE = 500
PARTIAL_EXIT = 1  # a run over several inputs finished, but some inputs failed (each said why on stderr)


class FacemaskError(Exception):
    """A user-facing failure: bad input, missing model, dead camera. Printed as `error: ...`."""


def printable(text: str) -> str:
    """Control characters shown escaped (`\\n`, `\\x1b`, `\\u202e`), so a file name holding a newline stays on
    its line and one holding a right-to-left override cannot reverse what follows it."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    return named or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def one_line(message: str) -> str:
    """A message as exactly one printable line.

    Control characters (a file name can hold a newline) are shown escaped, so nothing is lost;
    a long multi-line library message (Keras can run to 60 lines) keeps its first line.
    """
    message = message.strip()
    if len(message) > LONG_MESSAGE and "\n" in message:
        message = next(line.strip() for line in message.splitlines() if line.strip()) + " ..."
    return printable(message.replace("\t", " ")) or "(no message)"
