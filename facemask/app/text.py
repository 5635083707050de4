"""Text for the web page: Streamlit renders what it shows as Markdown, so user text goes through `plain()`.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be tested directly.
"""

from __future__ import annotations

import re

from facemask.core.errors import one_line

_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark: CommonMark escapes each


_SVG_ACTIVE = re.compile(
    r"<script|<foreignobject|<iframe|\bon[a-z]+\s*=|javascript:|href\s*=\s*[\"'](?!#)", re.IGNORECASE
)


def own_svg(svg: str) -> str:
    """Our own chart (matplotlib's SVG) as one line of HTML the page may show inline, or an error.

    Matplotlib escapes the text it draws, so a file name in a title stays text; this refuses anything that
    could run or fetch (a script, an event handler, an outside link) should that ever change.
    """
    flat = " ".join(line.strip() for line in svg.splitlines())
    if not flat.startswith(("<svg", "<?xml")) or _SVG_ACTIVE.search(flat):
        raise ValueError("the timeline chart is not a plain SVG drawing")
    return flat.replace("<svg ", '<svg style="width:100%;height:auto" ', 1)


def plain(text: object) -> str:
    """`text` as Markdown that shows exactly it: one line, every punctuation mark backslash-escaped.

    No link, image, emphasis, heading, HTML, colour directive or math can start, so a file named
    `[click here](https://evil.example).jpg` is shown as that name.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(text)))
