"""The violation events output: one JSON line per event and a face snapshot per violation, written safely.

The monitor (alerts.AlertStage) decides the events, and where each violation's snapshot goes,
and puts them on the frame (`frame.events`); this output writes them, like every output, in
`write(frame, faces)`. The events file goes to `NAME.partial-*.jsonl`, one flushed line per
event, and is renamed into place at `close()`; each snapshot is written whole
(safeio.write_bytes) or not at all, cut from the picture as decoded (`frame.clean_image`), never
the drawn one. A snapshot that cannot be saved is logged and its event written with
`"snapshot": null`.
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


def snapshot_path(snapshot_dir: Path, track_id: int, frame_index: int) -> Path:
    """Where a violation's face snapshot goes: one file per track and frame."""
    return snapshot_dir / f"track{track_id:04d}_frame{frame_index:06d}.jpg"


class EventsSink(Sink):
    """Events as JSON Lines at `path` (None: no file), and each violation's snapshot where its event says."""

    needs_image = False  # snapshots are cut from the clean picture, which every frame carries

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = _open_events(path) if path is not None else None

    @property
    def partial_path(self) -> Path | None:
        """Where the lines are while the run goes on (a crash leaves them there)."""
        return self._file.temp if self._file is not None else None

    def write(self, frame: Frame, faces: Faces) -> None:
        """Save each violation's snapshot, then write each of `frame.events` as a line."""
        for event in frame.events:
            if event.get("snapshot") and not _save_snapshot(frame, faces, event["track_id"], Path(event["snapshot"])):
                event = {**event, "snapshot": None}
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")  # flushed; a failed write is one error line

    def close(self) -> None:
        """Put the events file in place; a second call does nothing."""
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        """No events file from a run that failed before its first frame, or from a batch file's failed run."""
        if self._file is not None:
            self._file.close(ok=False)

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
