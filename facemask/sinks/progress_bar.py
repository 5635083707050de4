"""Progress bars (tqdm) for long runs, shown only when stderr is a terminal.

Logs, pipes and CI keep clean output: there the bar is a plain pass-through iterable whose
`write` prints normally. A video run's bar is an output like any other: sinks.progress.ProgressBarSink.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def show_progress() -> bool:
    return sys.stderr.isatty()


class _Plain:
    """The no-terminal stand-in for a tqdm bar: iterates and prints."""

    def __init__(self, items: Iterable) -> None:
        self.items = items

    def __iter__(self) -> Iterator:
        return iter(self.items)

    @staticmethod
    def write(text: str, file=None) -> None:
        print(text, file=file or sys.stdout)


@contextmanager
def progress_bar(items: Iterable, desc: str, enabled: bool = True, total: int | None = None):
    """`items` with a bar on stderr while iterated; `bar.write(text, file=...)` prints above it.

    `total` sizes the bar when `items` has no length (a batch's results, as they finish)."""
    if not (enabled and show_progress()):
        yield _Plain(items)
        return
    from tqdm import tqdm

    bar = tqdm(items, desc=desc, total=total, unit=desc.rstrip("s") or "item", file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
