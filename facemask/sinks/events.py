"""The violation events output: one JSON line per event and a face snapshot per violation, written safely.

The monitor (alerts.ViolationMonitor) decides the events; this writes them. The events file
goes to `NAME.partial-*.jsonl`, one flushed line per event, and is renamed into place at
`close()`; each snapshot is written whole (safeio.write_bytes) or not at all. Like every output
it takes `write(frame, faces)`; the events ride on `frame.events`. The alert stage feeds it the
frame as decoded, before the overlay draws on it, so snapshots are clean crops.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np

from facemask.core.boxes import expand_square
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces, Frame
from facemask.io.safeio import StreamingFile, write_bytes
from facemask.sinks.base import Sink

log = logging.getLogger(__name__)

SNAPSHOT_MARGIN = 0.25  # context around the face in the saved crop, per side


def snapshot_dir_for(events_path: Path) -> Path:
    """Default snapshot folder: `<events-stem>_snapshots/` beside the events file."""
    return events_path.parent / f"{events_path.stem}_snapshots"


class EventsSink(Sink):
    """Events as JSON Lines at `path` (None: no file) and violation snapshots under `snapshot_dir` (None: none)."""

    def __init__(self, path: Path | None, snapshot_dir: Path | None = None) -> None:
        self.path, self.snapshot_dir = path, snapshot_dir
        self._file = _open_events(path) if path is not None else None

    @property
    def partial_path(self) -> Path | None:
        """Where the lines are while the run goes on (a crash leaves them there)."""
        return self._file.temp if self._file is not None else None

    def write(self, frame: Frame, faces: Faces) -> list[dict]:
        """Save each violation's snapshot and write each of `frame.events`; returns them with their snapshot paths."""
        written = []
        for event in frame.events:
            if event["event"] == "violation":
                path = self._snapshot(frame, faces, event["track_id"])
                event = {**event, "snapshot": str(path) if path else None}
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")  # flushed; a failed write is one error line
            written.append(event)
        return written

    def close(self) -> None:
        """Put the events file in place; a second call does nothing."""
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        """A run that failed before its first frame leaves no events file."""
        if self._file is not None:
            self._file.close(ok=False)

    def __enter__(self) -> EventsSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _snapshot(self, frame: Frame, faces: Faces, track_id: int) -> Path | None:
        """Save the face with some context; a failure is logged, never fatal mid-stream."""
        rows = np.flatnonzero(faces.track_id == track_id)
        if self.snapshot_dir is None or not len(rows):
            return None
        h, w = frame.image.shape[:2]
        x1, y1, x2, y2 = expand_square(faces.xyxy[rows[0]], SNAPSHOT_MARGIN, w, h)
        crop = frame.image[y1:y2, x1:x2]
        path = self.snapshot_dir / f"track{track_id:04d}_frame{frame.index:06d}.jpg"
        try:
            ok, data = cv2.imencode(".jpg", crop) if crop.size > 0 else (False, None)
        except cv2.error as exc:
            log.warning("%s: cannot save snapshot (%s)", path, exc)
            return None
        if not ok:
            log.warning("%s: cannot save snapshot", path)
            return None
        try:
            write_bytes(path, data.tobytes())
        except FacemaskError as exc:
            log.warning("cannot save snapshot: %s", exc)
            return None
        return path


def _open_events(path: Path) -> StreamingFile:
    """The events file, written line by line to `NAME.partial-*.jsonl` and renamed into place at close."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot write events ({exc.strerror})") from None
    return StreamingFile(path)
