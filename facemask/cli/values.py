"""What each kind of option value accepts: argparse `type=` functions, each one check with one message.

A value that fails is refused while the command line is parsed, before anything loads, as one line:
`error: --detect-every must be at least 1, got 0` (see parser.Parser). Each message starts with
"must" so it reads on from the option's name.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def whole_number(least: int) -> Callable[[str], int]:
    """A whole number of at least `least`: `2.5`, `-1` and (for least 1) `0` are refused."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    parse.__name__ = f"whole_number_from_{least}"
    return parse


positive_int = whole_number(1)  # frames, detection cadence, batch sizes
count = whole_number(0)  # retries, epochs that may be none


def unit_interval(text: str) -> float:
    """A number strictly between 0 and 1: a confidence, a threshold, a learning rate."""
    value = _number(text)
    if not 0.0 < value < 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share from 0 to 1, both ends included."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text!r}")
    return value


MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.001, 86400.0  # as streams.check_timeout: OpenCV counts whole milliseconds


def seconds(text: str) -> float:
    """A timeout from 1 ms to a day: less would round to 0 ms, which OpenCV reads as "wait for ever"."""
    value = _number(text)
    if not MIN_TIMEOUT_S <= value <= MAX_TIMEOUT_S:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g}, got {text!r}"
        )
    return value


def delay_seconds(text: str) -> float:
    """A finite time of 0 seconds or more: a delay that may be none."""
    value = _number(text)
    if not 0.0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more, got {text!r}")
    return value


def megapixels(text: str) -> float:
    """An image size limit in millions of pixels."""
    value = _number(text)
    if not 0.0 < value < 1e9:  # NaN and infinity fail this too
        raise argparse.ArgumentTypeError(f"must be a number above 0 and below 1e9, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port to serve on."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number in 1..65535, got {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be in 1..65535, got {value}")
    return value
