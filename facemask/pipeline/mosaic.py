"""The `--display` window of a multi-source run: every stream's annotated picture in one grid.

Each lane draws its own picture (boxes, labels, its own counters panel) as a single-source run
does; a tile sink per lane keeps the newest one, and once a tick the window shows them side by
side. `compose_mosaic` is a pure function, so the layout is tested without a display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from facemask.core.types import Faces, Frame
from facemask.sinks.base import Sink, WindowSink

MOSAIC_WIDTH = 1280  # the window's width in pixels, whatever the number of streams
MIN_TILE_WIDTH = 320
CAPTION_SCALE = 0.5


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) of the most nearly square grid for `count` tiles: 2 -> 1x2, 4 -> 2x2, 5 -> 2x3."""
    if count < 1:
        raise ValueError(f"a mosaic needs at least one tile, got {count}")
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def tile_size(count: int) -> tuple[int, int]:
    """(width, height) of one 16:9 tile, so that a row of them is MOSAIC_WIDTH wide (never under MIN_TILE_WIDTH)."""
    width = max(MIN_TILE_WIDTH, MOSAIC_WIDTH // grid_shape(count)[1])
    return width, width * 9 // 16


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled to fit `size` (width, height) with its aspect kept, centred on black."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    w, h = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    out[y : y + h, x : x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return out


def compose_mosaic(tiles: Sequence[np.ndarray | None], size: tuple[int, int], names: Sequence[str] = ()) -> np.ndarray:
    """One picture of every tile in reading order on a `grid_shape` grid, each letterboxed to `size`.

    A tile that has no picture yet (None) stays black; `names` are written at each tile's foot.
    """
    rows, cols = grid_shape(len(tiles))
    width, height = size
    out = np.zeros((rows * height, cols * width, 3), np.uint8)
    for i, image in enumerate(tiles):
        row, col = divmod(i, cols)
        cell = out[row * height : (row + 1) * height, col * width : (col + 1) * width]
        if image is not None:
            cell[:] = letterbox(image, size)
        if i < len(names):
            cv2.putText(cell, names[i], (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, CAPTION_SCALE, (0, 0, 0), 3)
            cv2.putText(cell, names[i], (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, CAPTION_SCALE, (255, 255, 255), 1)
    return out


class MosaicWindow:
    """One window for several streams; `tile(i)` is stream i's sink, `show()` draws the grid once a tick.

    q or Esc in the window sets `wants_stop` on every tile, which ends every stream.
    """

    def __init__(self, names: Sequence[str], title: str = "facemask") -> None:
        self.names = list(names)
        self._window = WindowSink(title)
        self._latest: list[np.ndarray | None] = [None] * len(self.names)
        self._shown = 0

    @property
    def wants_stop(self) -> bool:
        return self._window.wants_stop

    def tile(self, index: int) -> Sink:
        return _Tile(self, index)

    def keep(self, index: int, image: np.ndarray) -> None:
        self._latest[index] = image

    def show(self) -> None:
        image = compose_mosaic(self._latest, tile_size(len(self._latest)), self.names)
        self._window.write(Frame(image, self._shown, 0.0), Faces.empty())
        self._shown += 1

    def close(self) -> None:
        self._window.close()


class _Tile(Sink):
    """Stream `index`'s place in the mosaic: keeps its newest annotated picture."""

    def __init__(self, mosaic: MosaicWindow, index: int) -> None:
        self._mosaic, self._index = mosaic, index

    @property
    def wants_stop(self) -> bool:  # type: ignore[override]
        return self._mosaic.wants_stop

    def write(self, frame: Frame, faces: Faces) -> None:
        self._mosaic.keep(self._index, frame.image)
