"""Contact sheets: boxes shown in their context, numbered, so a person can say by eye what each one holds.

A scored "false positive" on the scenes is often a face nobody annotated. tools/score_detection.py
and tools/tune_centerface.py (`--sheets`) draw them here; a person counts or labels them from the
sheets (tools/by_eye_labels.py), and the index beside them (`<prefix>_index.tsv`: number, scene, box, score) ties each
number back to its box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facemask.io.imageio import read_image

TILE, COLS, ROWS = 128, 8, 6
CONTEXT = 2.0  # the tile shows the box at this many times its size
CLOSER, CLOSER_ROW, CLOSER_ROWS = 220, 3, 4  # the second look: bigger tiles, fewer a sheet
CLOSER_CONTEXTS = (3.0, 1.6)  # each box twice: in its surroundings, and nearly filling the tile


@dataclass(frozen=True)
class Shown:
    """One box to show: the scene it is in, the box, and its score."""

    scene: Path
    box: np.ndarray
    score: float


def tile(image: np.ndarray, box: np.ndarray, label: str, size: int = TILE, context: float = CONTEXT) -> np.ndarray:
    """The box with `context` times its size around it, scaled to `size` px, the box drawn, the label under it."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * context
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ax1, ay1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    ax2, ay2 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    crop = image[ay1 : max(ay2, ay1 + 1), ax1 : max(ax2, ax1 + 1)]
    scale = size / max(crop.shape[:2])
    fit = (max(1, min(size, round(crop.shape[1] * scale))), max(1, min(size, round(crop.shape[0] * scale))))
    crop = cv2.resize(crop, fit, interpolation=cv2.INTER_CUBIC)
    out = np.full((size, size, 3), 40, np.uint8)
    out[: crop.shape[0], : crop.shape[1]] = crop
    p1 = (int((x1 - ax1) * scale), int((y1 - ay1) * scale))
    p2 = (int((x2 - ax1) * scale), int((y2 - ay1) * scale))
    cv2.rectangle(out, p1, p2, (0, 255, 255), 1)
    for color, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, label, (2, size - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, width)
    return out


def write_closer(shown: Sequence[tuple[int, Shown]], folder: Path, prefix: str) -> list[Path]:
    """A second look at boxes nobody could tell on the sheets: each numbered box twice, CLOSER px, at each
    of CLOSER_CONTEXTS times its size, CLOSER_ROW boxes a row, CLOSER_ROWS rows a sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    per, paths = CLOSER_ROW * CLOSER_ROWS, []
    for start in range(0, len(shown), per):
        sheet = np.zeros((CLOSER_ROWS * CLOSER, CLOSER_ROW * 2 * CLOSER, 3), np.uint8)
        for k, (number, item) in enumerate(shown[start : start + per]):
            image = read_image(item.scene)
            pair = [tile(image, item.box, str(number), CLOSER, c) for c in CLOSER_CONTEXTS]
            r, c = divmod(k, CLOSER_ROW)
            sheet[r * CLOSER : (r + 1) * CLOSER, c * 2 * CLOSER : (c + 1) * 2 * CLOSER] = np.hstack(pair)
        paths.append(folder / f"{prefix}_closer_{start // per:02d}.png")
        cv2.imwrite(str(paths[-1]), sheet)
    return paths


def read_index(path: Path) -> list[tuple[int, str, np.ndarray, float]]:
    """A sheets' index back as (number, scene file name, box, score), in sheet order."""
    rows = []
    for line in path.read_text().splitlines()[1:]:
        number, scene, box, score = line.split("\t")
        rows.append((int(number), scene, np.array(box.split(","), np.float32), float(score)))
    return rows


def write_sheets(shown: Sequence[Shown], folder: Path, prefix: str) -> list[Path]:
    """COLS x ROWS numbered tiles a sheet (`<prefix>_NN.jpg`) and the index; returns the sheets' paths."""
    folder.mkdir(parents=True, exist_ok=True)
    per, paths, index = COLS * ROWS, [], []
    images: dict[Path, np.ndarray] = {}
    for start in range(0, len(shown), per):
        sheet = np.zeros((ROWS * TILE, COLS * TILE, 3), np.uint8)
        for k, item in enumerate(shown[start : start + per]):
            image = images.setdefault(item.scene, read_image(item.scene))
            r, c = divmod(k, COLS)
            number = start + k
            shown_tile = tile(image, item.box, f"{number} {item.score:.2f}")
            sheet[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] = shown_tile
            box = ",".join(str(int(round(float(v)))) for v in item.box)
            index.append(f"{number}\t{item.scene.name}\t{box}\t{item.score:.3f}")
        paths.append(folder / f"{prefix}_{start // per:02d}.jpg")
        cv2.imwrite(str(paths[-1]), sheet, [cv2.IMWRITE_JPEG_QUALITY, 88])
    (folder / f"{prefix}_index.tsv").write_text("number\tscene\tbox\tscore\n" + "".join(f"{line}\n" for line in index))
    return paths
