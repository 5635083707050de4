"""Short test videos written on the spot, and fake captures for the sources' threads.

A video gets a real face pasted in when ../shared/data is present (so the detector has
something to find) and a plain synthetic picture otherwise: loop tests never need the data.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FACE_FILE = SHARED_DATA / "mask-classification" / "without_mask" / "0_0_aidai_0014.jpg"
SIZE = (320, 240)
FPS = 10.0


def face_patch(side: int = 120) -> np.ndarray | None:
    """A real unmasked face, square, or None when the shared data is absent."""
    image = cv2.imread(str(FACE_FILE)) if FACE_FILE.is_file() else None
    return None if image is None else cv2.resize(image, (side, side))


def synthetic_frame(index: int, size: tuple[int, int] = SIZE, face: np.ndarray | None = None) -> np.ndarray:
    """A frame whose content moves with `index`; the face (if any) drifts 2 px a frame."""
    w, h = size
    frame = np.full((h, w, 3), 90, np.uint8)
    cv2.putText(frame, str(index), (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    if face is not None:
        side = face.shape[0]
        x, y = min(w - side, 60 + 2 * index), (h - side) // 2
        frame[y : y + side, x : x + side] = face
    return frame


def write_video(
    path: Path, frames: int = 20, size: tuple[int, int] = SIZE, fps: float = FPS, with_face: bool = True
) -> bool:
    """Write a short video (mp4v, or MJPG for .avi); True when a real face is in it."""
    face = face_patch() if with_face else None
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, size)
    assert writer.isOpened(), f"cannot write test video {path}"
    for i in range(frames):
        writer.write(synthetic_frame(i, size, face))
    writer.release()
    return face is not None


def write_truncated_video(path: Path, frames: int = 30) -> None:
    """An MJPG AVI cut in half: it opens and announces `frames`, but decoding stops early."""
    full = path.with_name("full_" + path.name)
    write_video(full, frames=frames, with_face=False)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def read_back(path: Path) -> tuple[int, tuple[int, int], float]:
    """(frames actually decoded, (width, height), fps) of a video file."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    fps = cap.get(cv2.CAP_PROP_FPS)
    count, size = 0, (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        count += 1
        size = (image.shape[1], image.shape[0])
    cap.release()
    return count, size, fps


class FakeCapture:
    """Stands in for cv2.VideoCapture. Frame i is filled with the value i % 256.

    With `gate` set, each read waits for the test to release it, so a test decides exactly
    how many frames the reader thread has captured.
    """

    def __init__(
        self,
        frames: int | None = None,
        opened: bool = True,
        fps: float = FPS,
        fail_after: int | None = None,
        gate: threading.Semaphore | None = None,
    ) -> None:
        self.frames, self.opened, self.fps = frames, opened, fps
        self.fail_after, self.gate = fail_after, gate
        self.count = 0
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self.frames or 0)
        return 0.0

    def read(self):
        if self.gate is not None and not self.gate.acquire(timeout=5):
            return False, None
        done = self.frames is not None and self.count >= self.frames
        if done or (self.fail_after is not None and self.count >= self.fail_after):
            return False, None
        image = np.full((24, 32, 3), self.count % 256, np.uint8)
        self.count += 1
        return True, image

    def release(self) -> None:
        self.released = True
