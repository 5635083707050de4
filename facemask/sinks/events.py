"""The violation events output: one JSON line per event and a face snapshot per violation, written safely,
then each violation handed to the actions (the beep and `--on-violation`).

The monitor (alerts.AlertStage) decides the events and puts them on the frame (`frame.events`); this
output, which the caller builds (alerts/outputs.py), picks where each violation's snapshot goes and
writes them, like every output, in `write(frame, faces)`. The events file goes to
`NAME.partial-*.jsonl`, one flushed line per event, and is renamed into place at `close()`; each
snapshot is written whole (safeio.write_bytes) or not at all, cut from the picture as decoded
(`frame.clean_image`), never the drawn one. A snapshot that cannot be saved is logged and its event
written, and handed to the actions, with `"snapshot": null`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

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


def snapshot_path(snapshot_dir: Path, track_id: int, frame_index: int) -> Path:
    """Where a violation's face snapshot goes: one file per track and frame."""
    return snapshot_dir / f"track{track_id:04d}_frame{frame_index:06d}.jpg"


class Actions(Protocol):
    """What a violation sets off (alerts.actions.ActionWorker): queued, never waited for."""

    dropped: int

    def submit(self, event: dict) -> None: ...
    def close(self) -> None: ...


class EventsSink(Sink):
    """Events as JSON Lines at `path` (None: no file), each violation's snapshot in `snapshot_dir` (None: beside
    the events file, or none without one), then each violation, as written, to `actions`. Closes `actions`."""

    needs_image = False  # snapshots are cut from the clean picture, which every frame carries

    def __init__(self, path: Path | None, snapshot_dir: Path | None = None, actions: Actions | None = None) -> None:
        self.path, self.actions = path, actions
        self.snapshot_dir = snapshot_dir if snapshot_dir is not None or path is None else snapshot_dir_for(path)
        self._file = _open_events(path) if path is not None else None

    @property
    def partial_path(self) -> Path | None:
        """Where the lines are while the run goes on (a crash leaves them there)."""
        return self._file.temp if self._file is not None else None

    def write(self, frame: Frame, faces: Faces) -> None:
        self.record(frame, faces)

    def record(self, frame: Frame, faces: Faces) -> list[dict]:
        """Save each violation's snapshot, write each of `frame.events` as a line, hand the violations on, and
        return the events as written."""
        written = []
        for event in frame.events:
            violation = event["event"] == "violation"
            if violation and self.snapshot_dir is not None:
                event = {**event, "snapshot": str(snapshot_path(self.snapshot_dir, event["track_id"], event["frame"]))}
            log.info("%s", json.dumps(event))
            if event.get("snapshot") and not _save_snapshot(frame, faces, event["track_id"], Path(event["snapshot"])):
                event = {**event, "snapshot": None}
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")  # flushed; a failed write is one error line
            if violation and self.actions is not None:
                self.actions.submit(event)
            written.append(event)
        return written

    def summary_items(self) -> dict:
        """Where the events and snapshots went, and how many actions were dropped (a full queue)."""
        return {
            "events_path": str(self.path) if self.path else None,
            "snapshot_dir": str(self.snapshot_dir) if self.snapshot_dir else None,
            "dropped_actions": self.actions.dropped if self.actions else 0,
        }

    def close(self) -> None:
        """Put the events file in place, then let the actions finish; a second call does nothing."""
        try:
            if self._file is not None:
                self._file.close()
        finally:
            if self.actions is not None:
                self.actions.close()

    def discard(self) -> None:
        """No events file from a run that failed before its first frame, or from a batch file's failed run."""
        try:
            if self._file is not None:
                self._file.close(ok=False)
        finally:
            if self.actions is not None:
                self.actions.close()

    def __enter__(self) -> EventsSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def snapshot_jpeg(frame: Frame, faces: Faces, track_id: int) -> bytes | None:
    """The track's face with some context, as JPEG, cut from the clean picture; None when it cannot be."""
    rows = np.flatnonzero(faces.track_id == track_id)
    if not len(rows):
        return None
    image = frame.clean_image
    h, w = image.shape[:2]
    x1, y1, x2, y2 = expand_square(faces.xyxy[rows[0]], SNAPSHOT_MARGIN, w, h)
    crop = image[y1:y2, x1:x2]
    try:
        ok, data = cv2.imencode(".jpg", crop) if crop.size > 0 else (False, None)
    except cv2.error as exc:
        log.warning("frame %d: cannot encode snapshot (%s)", frame.index, exc)
        return None
    return data.tobytes() if ok else None


def _save_snapshot(frame: Frame, faces: Faces, track_id: int, path: Path) -> bool:
    """Save the face at `path`; a failure is logged, never fatal mid-stream."""
    data = snapshot_jpeg(frame, faces, track_id)
    if data is None:
        log.warning("%s: cannot save snapshot", path)
        return False
    try:
        write_bytes(path, data)
    except FacemaskError as exc:
        log.warning("cannot save snapshot: %s", exc)
        return False
    return True


def _open_events(path: Path) -> StreamingFile:
    """The events file, written line by line to `NAME.partial-*.jsonl` and renamed into place at close."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacemaskError(f"{path}: cannot write events ({exc.strerror})") from None
    return StreamingFile(path)
