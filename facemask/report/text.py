"""The one rule for text a run brings into the report (names, ids, errors): plain, short, and in its place.

Whatever a run's files hold, its text is shown as typed but cannot act: control and bidi characters
are shown escaped (a right-to-left override cannot reverse the page's own text), and a long string
is cut to MAX_TEXT characters before any layout (two 1 MB names once took a minute to draw).
Markup is the caller's to escape (HTML for the page); matplotlib draws it with mathtext off.
"""

from __future__ import annotations

from facemask.core.errors import printable

MAX_TEXT = 200


def plain(value: object, limit: int | None = MAX_TEXT) -> str:
    """`value` as text to show: escaped controls, cut to `limit` characters with an ellipsis (None: whole)."""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return printable(text)
