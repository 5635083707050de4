"""Keep native libraries' chatter off the terminal; the CLI reports failures itself, in one line.

TensorFlow, LiteRT, the TFLite converter, OpenCV, libpng and FFmpeg write banners and warnings
("oneDNN custom operations are on", "Could not find cuda drivers", "Created TensorFlow Lite
XNNPACK delegate", "libpng warning: iCCP: ...", "[h264 @ 0x...] error while decoding")
straight to file descriptor 2, below Python, so only moving the descriptor stops them: every
command that reads images, video or models (detect, batch, benchmark, evaluate, train, export) runs
with OpenCV's and FFmpeg's log levels lowered (`quiet_native_logs`) and inside
`native_stderr_silenced(keep_python=True)`, both in one place (cli/run.py). `-v` lets them through.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager


def quiet_native_logs() -> None:
    """OpenCV and FFmpeg print their own warnings on stderr."""
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@contextmanager
def native_stderr_silenced(enabled: bool = True, keep_python: bool = False):
    """Point descriptor 2 at /dev/null for the block.

    With `keep_python`, Python's own `sys.stderr` (warnings, `print(..., file=sys.stderr)`,
    log records) keeps writing to the real terminal through a duplicate of the old descriptor,
    so a long command such as training hides only the native lines. Exceptions propagate and
    are printed after the descriptor is restored.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    old_stderr = sys.stderr
    if keep_python:
        sys.stderr = open(
            saved,
            "w",
            buffering=1,
            encoding=old_stderr.encoding or "utf-8",
            errors="backslashreplace",
            closefd=False,
        )
    try:
        yield
    finally:
        if keep_python:
            sys.stderr.flush()
            sys.stderr = old_stderr
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
