"""Unlabelled faces for distillation: every face the detector finds in videos and image folders.

They have no label of their own, so the teacher's calibrated probability is their whole training
target, and they join the train split only: nothing unlabelled is ever validated or tested on.
They teach the student the faces the labelled folders lack (beards, profiles, crowds, motion blur).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from facemask.classification.crops import face_crops
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.io.imageio import VIDEO_SUFFIXES, decode_image, read_image_bytes
from facemask.io.sources import FileSource
from facemask.io.walk import walk_files

log = logging.getLogger(__name__)

MIN_FACE_PX = 24  # smaller faces are mostly blur at every input size


def _frames(path: Path, every: int) -> Iterator[np.ndarray]:
    """Every `every`-th frame of a video, or each image of a folder (or the one image `path`)."""
    if path.is_dir():
        walk = walk_files(path)
        for item, why in walk.problems:
            log.info("%s: skipped (%s)", item, why)
        for item in (p for p in walk.files if not p.name.startswith(".")):
            if item.suffix.lower() in VIDEO_SUFFIXES:
                yield from _frames(item, every)
                continue
            try:
                yield decode_image(read_image_bytes(item), str(item))
            except (FacemaskError, OSError) as exc:
                log.info("%s: skipped (%s)", item, exc)
        return
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        yield decode_image(read_image_bytes(path), str(path))
        return
    source = FileSource(path).start()
    try:
        index = 0
        while (frame := source.read()) is not None:
            if index % every == 0:
                yield frame.image
            index += 1
    finally:
        source.stop()


def _faces_in(path: Path, size: int, detect: Callable[[np.ndarray], Faces], every: int) -> np.ndarray:
    crops = []
    for image in _frames(path, every):
        xyxy = detect(image).xyxy
        side = np.minimum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]) if len(xyxy) else np.zeros(0)
        keep = xyxy[side >= MIN_FACE_PX]
        if len(keep):
            crops.append(face_crops(image, keep, size))
    return np.concatenate(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def load_unlabelled(
    paths: tuple[Path, ...], size: int, detect: Callable[[np.ndarray], Faces], cache_dir: Path, key: str, every: int = 3
) -> tuple[np.ndarray, list[dict]]:
    """All faces in `paths` as crops (cached by path, size and modification time); and what each gave."""
    crops, described = [], []
    for path in paths:
        if not path.exists():
            raise FacemaskError(f"{path}: --unlabelled file or folder not found")
        stamp = f"{path.resolve()}|{path.stat().st_mtime_ns}|{size}|{every}|{key}"
        cache = cache_dir / f"unlabelled_{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.npz"
        if cache.is_file():
            with np.load(cache, allow_pickle=False) as data:
                faces = data["crops"]
        else:
            faces = _faces_in(path, size, detect, every)
            np.savez_compressed(cache, crops=faces)
        print(f"unlabelled {path}: {len(faces)} face crops (every {every} frames of a video), train split only")
        described.append({"path": str(path), "crops": int(len(faces)), "every_nth_frame": every})
        crops.append(faces)
    return (np.concatenate(crops) if crops else np.zeros((0, size, size, 3), np.uint8)), described
