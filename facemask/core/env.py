"""Numbers read from environment variables: parsed and range-checked once, one error line when wrong."""

from __future__ import annotations

import os

from facemask.core.errors import FacemaskError


def env_number(name: str, default: float, low: float, high: float, what: str, whole: bool = False) -> float:
    """`name`'s value as a number from `low` to `high` (`whole`: an integer), `default` when unset or empty.

    NaN and infinity fail the range check, so a value like `1e400` is one error line, never an overflow later.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise FacemaskError(f"{name}={raw!r}: expected {kind} of {what}") from None
    if not low <= value <= high:
        raise FacemaskError(f"{name}={raw!r}: must be a number of {what} from {low:g} to {high:g}")
    return value
