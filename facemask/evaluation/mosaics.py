"""Mosaic scenes: photos of the 853 set laid side by side at their own pixel size, boxes shifted.

The 853 set's photos are about 400-500 px wide, smaller than the photo preset's input, so tuning on
them could never show what a larger photo does to a small face (it shrinks it). A 2x2 or 3x3 grid
of them keeps every face's pixels while the picture grows to 800-1,500 px, the size of the photos
users bring. Mosaics of one split are made only from that split's photos (`voc.scene_split`), so a
test mosaic holds no face that tuning saw.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facemask.evaluation.by_eye import ByEye
from facemask.io.imageio import read_image
from facemask.io.safeio import write_bytes
from facemask.training.voc import VocImage

GRIDS = (2, 3)  # 2x2 and 3x3, alternating
BACKGROUND = (114, 114, 114)  # the letterbox grey of YOLO-style mosaics: no edge the detector could take for a face


@dataclass(frozen=True)
class Mosaic:
    """One composed scene: its picture and its annotation in picture pixels."""

    image: np.ndarray
    annotation: VocImage
    sources: tuple[str, ...]
    placements: tuple[tuple[float, ...], ...]  # per source: x, y, x scale, y scale, width, height (mosaic pixels)


def compose(pairs: list[tuple[np.ndarray, VocImage]], cols: int, name: str) -> Mosaic:
    """`pairs` laid out row by row, `cols` a row, each at its own size; every box shifted with its photo."""
    rows = [pairs[i : i + cols] for i in range(0, len(pairs), cols)]
    heights = [max(img.shape[0] for img, _ in row) for row in rows]
    width = max(sum(img.shape[1] for img, _ in row) for row in rows)
    canvas = np.empty((sum(heights), width, 3), np.uint8)
    canvas[:] = BACKGROUND
    boxes, names, placements, y = [], [], [], 0
    for row, height in zip(rows, heights):
        x = 0
        for img, ann in row:
            h, w = img.shape[:2]
            canvas[y : y + h, x : x + w] = img
            sx, sy = w / max(ann.width, 1), h / max(ann.height, 1)  # an annotation's size may differ from the file's
            boxes.append(ann.xyxy * np.array([sx, sy, sx, sy], np.float32) + np.array([x, y, x, y], np.float32))
            names.extend(ann.names)
            placements.append((float(x), float(y), sx, sy, float(w), float(h)))
            x += w
        y += height
    xyxy = np.concatenate(boxes).reshape(-1, 4) if boxes else np.zeros((0, 4), np.float32)
    annotation = VocImage(f"{name}.jpg", width, canvas.shape[0], xyxy, tuple(names))
    return Mosaic(canvas, annotation, tuple(ann.filename for _, ann in pairs), tuple(placements))


def plan(names: list[str], seed: int) -> list[list[str]]:
    """Groups of photo names, 4 then 9 then 4..., each photo in exactly one group (a short last group is kept)."""
    order = list(names)
    np.random.default_rng(seed).shuffle(order)
    groups, start, turn = [], 0, 0
    while start < len(order):
        size = GRIDS[turn % len(GRIDS)] ** 2
        groups.append(order[start : start + size])
        start, turn = start + size, turn + 1
    return groups


def voc_xml(annotation: VocImage) -> bytes:
    """The annotation as Pascal VOC XML, readable by `voc.read_voc`."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = annotation.filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", annotation.width), ("height", annotation.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    for box, name in zip(annotation.xyxy, annotation.names):
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = name
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ET.SubElement(bndbox, tag).text = f"{float(value):.1f}"
    return ET.tostring(root, encoding="utf-8")


def write_mosaics(
    pairs: dict[str, tuple[Path, VocImage]], folder: Path, groups: list[list[str]], prefix: str
) -> list[dict]:
    """Each group composed and written as `folder/images/<prefix>_NNN.jpg` + `annotations/...xml`; an index back."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    index = []
    for i, group in enumerate(groups):
        cols = GRIDS[i % len(GRIDS)]
        name = f"{prefix}_{i:03d}"
        mosaic = compose([(read_image(pairs[n][0]), pairs[n][1]) for n in group], cols, name)
        ok, jpeg = cv2.imencode(".jpg", mosaic.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise ValueError(f"{name}: JPEG encoding failed")
        write_bytes(folder / "images" / f"{name}.jpg", jpeg.tobytes())
        write_bytes(folder / "annotations" / f"{name}.xml", voc_xml(mosaic.annotation))
        shape = mosaic.image.shape
        index.append(
            {
                "name": name,
                "sources": list(mosaic.sources),
                "placements": [list(p) for p in mosaic.placements],
                "width": shape[1],
                "height": shape[0],
            }
        )
    return index


def mosaic_by_eye(by_eye: ByEye, index: list[dict]) -> ByEye:
    """Labels a person gave boxes in the source photos, moved to where each photo sits in its mosaic.

    The mosaics keep every photo's pixels, so a box looked at in a photo is the same box in its mosaic:
    the by-eye labels of earlier rounds serve the mosaics without a second look.
    """
    mosaics = {f"{item['name']}.jpg" for item in index}  # labels given in a mosaic itself stay where they are
    boxes = {scene: b for scene, b in by_eye.boxes.items() if scene in mosaics}
    labels = {scene: list(by_eye.labels[scene]) for scene in boxes}
    for item in index:
        parts, names = [], []
        for source, (x, y, sx, sy, *_) in zip(item["sources"], item["placements"]):
            if source in by_eye.boxes:
                parts.append(by_eye.boxes[source] * np.array([sx, sy, sx, sy], np.float32) + np.array([x, y, x, y]))
                names += by_eye.labels[source]
        if parts:
            scene = f"{item['name']}.jpg"
            boxes[scene] = np.concatenate([*parts, boxes.get(scene, np.zeros((0, 4)))]).astype(np.float32)
            labels[scene] = names + labels.get(scene, [])
    return ByEye(boxes, labels)


def photo_by_eye(by_eye: ByEye, index: list[dict]) -> ByEye:
    """The reverse of `mosaic_by_eye`: labels given in the mosaics, moved back into their source photos (a box
    is given to the photo holding its centre), so the held-out photos are scored with them too."""
    boxes: dict[str, list] = {}
    labels: dict[str, list[str]] = {}
    for item in index:
        scene = f"{item['name']}.jpg"
        for box, label in zip(by_eye.boxes.get(scene, np.zeros((0, 4))), by_eye.labels.get(scene, [])):
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            for source, (x, y, sx, sy, w, h) in zip(item["sources"], item["placements"]):
                if x <= cx < x + w and y <= cy < y + h:
                    moved = (box - np.array([x, y, x, y])) / np.array([sx, sy, sx, sy])
                    boxes.setdefault(source, []).append(moved)
                    labels.setdefault(source, []).append(label)
                    break
    return ByEye({k: np.asarray(v, np.float32).reshape(-1, 4) for k, v in boxes.items()}, labels)
