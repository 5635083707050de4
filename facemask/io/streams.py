"""Camera and stream sources: a webcam index or a stream URL, where the newest frame wins.

A live source runs ahead of inference, so the reader keeps only the newest frame; a stream
that stops is reopened a bounded number of times; every wait (open, read) has a timeout,
since OpenCV's FFmpeg default of 30 s, or none, would hang the run on a dead camera.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import cv2

from facemask.core.config import OPEN_TIMEOUT_S
from facemask.core.errors import FacemaskError
from facemask.core.types import Frame
from facemask.io.threaded import _fps_of, _Threaded

log = logging.getLogger(__name__)

MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.001, 86400.0  # OpenCV counts whole milliseconds; 0 ms means "wait for ever"


def check_timeout(timeout_s: float) -> float:
    """A wait OpenCV and threading can honour: 1 ms to a day (NaN, 0 and infinity are refused)."""
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise FacemaskError(f"timeout must be from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g} seconds, got {timeout_s!r}")
    return timeout_s


def timeout_ms(timeout_s: float) -> int:
    """`timeout_s` in whole milliseconds, rounded up: 0.1 ms must not become 0, which OpenCV reads as no timeout."""
    return max(1, math.ceil(check_timeout(timeout_s) * 1000))


def open_capture(src: int | str, timeout_s: float) -> cv2.VideoCapture:
    """`cv2.VideoCapture` whose FFmpeg open and read give up after `timeout_s` (its default is 30 s)."""
    if isinstance(src, int):
        return cv2.VideoCapture(src)
    ms = timeout_ms(timeout_s)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    return cv2.VideoCapture(src, cv2.CAP_FFMPEG, params)


class CameraSource(_Threaded):
    """A webcam index or a stream URL. The reader keeps only the newest frame; stale ones vanish.

    A stream that stops delivering is reopened up to `reconnect` times, waiting `backoff_s`,
    then twice that, and so on; `read()` keeps waiting while a reconnection is under way and
    raises one clear FacemaskError once the source gives up.
    """

    def __init__(
        self,
        src: int | str,
        capture_factory: Callable | None = None,
        read_timeout_s: float = OPEN_TIMEOUT_S,
        max_failures: int = 3,
        reconnect: int = 0,
        backoff_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.src = src
        self.name = f"camera {src}" if isinstance(src, int) else f"stream {src}"
        self._factory = capture_factory or (lambda source: open_capture(source, read_timeout_s))
        self._timeout = check_timeout(read_timeout_s)
        self._max_failures = max_failures
        self._reconnect = reconnect
        self._backoff = backoff_s
        self._reconnecting = False
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._captured = 0
        self._delivered = -1
        self._error: str | None = None
        self._progress = time.monotonic()  # when the last frame came (or the source opened, or reconnected)
        self.fps = 30.0

    def start(self) -> CameraSource:
        cap = self._factory(self.src)
        if not cap.isOpened():
            cap.release()
            wait = "" if isinstance(self.src, int) else f" (no answer within {self._timeout:g} s; see --open-timeout)"
            raise FacemaskError(f"cannot open {self.name}{wait}")
        self._cap = cap
        self.fps = _fps_of(cap, 30.0)
        self._t0 = self._progress = time.monotonic()
        self._launch(f"facemask-{self.name}")
        return self

    def _run(self) -> None:
        try:
            self._capture_loop()
        except Exception as exc:  # noqa: BLE001 - a driver crash must reach the main thread, not vanish
            self._fail(f"{self.name}: capture failed ({exc})")

    def _capture_loop(self) -> None:
        failures, attempts = 0, 0
        while not self._stop.is_set():
            ok, image = self._cap.read() if self._cap is not None else (False, None)
            if not ok or image is None:
                failures += 1
                if failures < self._max_failures:
                    self._stop.wait(0.01)
                    continue
                if attempts >= self._reconnect:
                    tried = f" and {attempts} reconnection{'s' if attempts != 1 else ''}" if attempts else ""
                    self._fail(f"{self.name} stopped delivering frames after {self._captured} frames{tried}")
                    return
                attempts += 1
                self._reopen(attempts)
                failures = 0
                continue
            failures, attempts = 0, 0  # the budget is per outage: a stream that recovers gets it back
            with self._cond:
                self._progress = time.monotonic()
                self._latest = Frame(image, self._captured, self._progress - self._t0)
                self._captured += 1
                self._cond.notify_all()

    def _reopen(self, attempt: int) -> None:
        """Wait (1, 2, 4... x backoff, cut short by stop()), then open the source again."""
        delay = self._backoff * 2 ** (attempt - 1)
        log.warning("%s stopped; reconnecting in %.0f s (%d of %d)", self.name, delay, attempt, self._reconnect)
        with self._cond:
            self._reconnecting = True
        try:
            if self._cap is not None:
                self._cap.release()
                self._cap = None
            if self._stop.wait(delay):
                return
            cap = self._factory(self.src)
            if cap.isOpened():
                self._cap = cap
            else:
                cap.release()
        finally:
            with self._cond:
                self._reconnecting = False
                self._progress = time.monotonic()  # a reopened stream gets the whole timeout for its first frame
                self._cond.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()  # a read() waiting on another thread returns None at once
        super().stop()

    def _fail(self, message: str) -> None:
        with self._cond:
            self._error = message
            self._cond.notify_all()

    def _news(self) -> bool:
        return bool(self._captured - 1 > self._delivered or self._error or self._stop.is_set())

    def _stalled(self) -> bool:
        """No frame for the timeout since the last one (or the start), and no reconnection under way."""
        return not self._reconnecting and time.monotonic() - self._progress >= self._timeout

    def ready(self) -> bool:
        """Whether `read()` returns or raises at once: a new frame, an error, a stop, or a stall past the timeout.

        A multi-source tick reads only the sources that are ready, so a stalled one never holds the others.
        """
        with self._cond:
            return self._news() or self._stalled()

    def read(self) -> Frame | None:
        """The newest frame not handed out yet; waits for one, up to the timeout since the last. None once stopped."""
        with self._cond:
            while not self._news() and not self._stalled():
                left = self._progress + self._timeout - time.monotonic()
                self._cond.wait(timeout=self._timeout if self._reconnecting else max(0.001, left))
            if self._stop.is_set():
                return None
            if self._captured - 1 > self._delivered:
                frame = self._latest
                self.dropped += frame.index - self._delivered - 1
                self._delivered = frame.index
                return frame
            raise FacemaskError(self._error or f"{self.name}: no frame for {self._timeout:g} s")
