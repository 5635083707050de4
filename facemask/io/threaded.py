"""Reader-thread plumbing shared by the camera/stream and the video-file sources.

Each source decodes on its own reader thread so inference on the main thread never blocks
capture; `stop()` must end that thread within a bounded wait and release the capture only
once no read() is running on it, since releasing under a live read could crash native code.
"""

from __future__ import annotations

import logging
import threading

import cv2

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 2.0


def _fps_of(cap, fallback: float) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 0.05 <= fps <= 240.0 else fallback  # a 0.5 fps time-lapse keeps its own clock


class _Threaded:
    """Start/stop plumbing shared by both sources: an Event to stop, a join with a timeout."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap = None
        self.dropped = 0

    def _launch(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the reader, wait for it (bounded) and release the capture. Safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("reader thread did not stop within %.1f s", JOIN_TIMEOUT_S)
                return  # releasing under a live read() could crash the native code
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
