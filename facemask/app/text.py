"""Text for the web page: Streamlit renders what it shows as Markdown, so user text goes through `plain()`.

Kept apart from facemask/app/page.py so it holds no Streamlit code and can be tested directly.
"""

from __future__ import annotations

import re

from facemask.core.errors import one_line

_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark: CommonMark escapes each


def plain(text: object) -> str:
    """`text` as Markdown that shows exactly it: one line, every punctuation mark backslash-escaped.

    No link, image, emphasis, heading, HTML, colour directive or math can start, so a file named
    `[click here](https://evil.example).jpg` is shown as that name.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(text)))
