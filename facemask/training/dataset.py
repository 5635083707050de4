"""A labelled image folder made ready for training: scanned, de-duplicated, split, cropped."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.crops import face_crops, training_crop
from facemask.core.errors import FacemaskError
from facemask.core.labels import ALL_LABELS
from facemask.io.imageio import SYSTEM_TREES, decode_image, looks_like_image, read_image_bytes
from facemask.io.walk import walk_files
from facemask.training.dedup import Sample, perceptual_hash
from facemask.training.voc import match, scene_split, voc_dataset

log = logging.getLogger(__name__)

CLASS_DIRS = {
    "with_mask": "mask",
    "mask": "mask",
    "without_mask": "no_mask",
    "no_mask": "no_mask",
    "incorrect_mask": "incorrect_mask",  # a mask below the nose: an optional third class
    "mask_weared_incorrect": "incorrect_mask",
}
SPLITS = ("train", "val", "test")


def class_folders(root: Path) -> dict[str, Path]:
    """Map label -> folder, accepting with_mask/without_mask or mask/no_mask in any case, and an optional
    incorrect_mask/ (which makes the run three-class: classes.run_labels)."""
    if not root.is_dir():
        raise FacemaskError(f"{root}: dataset folder not found")
    found: dict[str, Path] = {}
    for child in sorted(root.iterdir()):
        label = CLASS_DIRS.get(child.name.lower())
        if child.is_dir() and label:
            real = child.resolve()
            if real == Path("/") or any(real.is_relative_to(tree) for tree in SYSTEM_TREES):
                raise FacemaskError(f"{child}: leads to {real}, a system folder, not a folder of images")
            if label in found:
                raise FacemaskError(f"{root}: two folders for class {label!r}: {found[label].name}, {child.name}")
            found[label] = child
    missing = [label for label in LABELS if label not in found]
    if len(missing) == len(LABELS):
        raise FacemaskError(f"{root}: no class folders (expected with_mask/ and without_mask/, or mask/ and no_mask/)")
    if missing:
        raise FacemaskError(f"{root}: only one class found, missing a folder for {missing[0]!r}")
    return found


@dataclass
class LoadedDataset:
    samples: list[Sample]
    crops: np.ndarray  # (N, size, size, 3) uint8 RGB, the crop inference would give
    face_found: np.ndarray  # (N,) bool: False where the whole image was used
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class CropCache:
    """Crops and hashes keyed by file content, so a re-run decodes and detects nothing twice."""

    def __init__(self, path: Path | None, size: int) -> None:
        self.path, self.size, self.entries = path, size, {}
        if path and path.is_file():
            with np.load(path, allow_pickle=False) as data:
                if int(data["size"]) == size:
                    for sha, ph, crop, found in zip(data["sha"], data["phash"], data["crops"], data["found"]):
                        self.entries[str(sha)] = (int(ph), crop, bool(found))

    def save(self) -> None:
        if not self.path or not self.entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        shas = sorted(self.entries)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            size=self.size,
            sha=np.array(shas),
            phash=np.array([self.entries[s][0] for s in shas], np.uint64),
            crops=np.stack([self.entries[s][1] for s in shas]),
            found=np.array([self.entries[s][2] for s in shas]),
        )
        tmp.replace(self.path)


def load_dataset(root: Path, size: int, detect, cache_path: Path | None = None) -> LoadedDataset:
    """Read every file once: hash it, crop it like inference would, and list what was skipped.

    `detect(image) -> Faces` is the project's face detector; crops use its largest face.
    """
    folders = class_folders(Path(root))
    cache = CropCache(cache_path, size)
    samples, crops, found, skipped = [], [], [], []
    for label, folder in folders.items():
        walk = walk_files(folder)
        skipped += [(str(p), why) for p, why in walk.problems if not p.name.startswith(".")]
        for path in (p for p in walk.files if not p.name.startswith(".")):
            try:
                data = read_image_bytes(path)
                sha = hashlib.sha256(data).hexdigest()
                if sha not in cache.entries:
                    image = decode_image(data, str(path))
                    crop, has_face = training_crop(image, detect(image).xyxy, size)
                    cache.entries[sha] = (perceptual_hash(image), crop, has_face)
            except (FacemaskError, OSError) as exc:
                skipped.append((str(path), str(exc).split(": ", 1)[-1]))
                continue
            if not looks_like_image(path):
                log.info("%s: odd extension, read by content", path)
            phash, crop, has_face = cache.entries[sha]
            samples.append(Sample(path, ALL_LABELS.index(label), sha, phash))
            crops.append(crop)
            found.append(has_face)
            if len(samples) % 500 == 0:
                log.info("read %d images", len(samples))
    cache.save()
    counts = [sum(s.label == ALL_LABELS.index(label) for s in samples) for label in folders]
    if not samples:
        raise FacemaskError(f"{root}: no readable images")
    if min(counts) == 0:
        raise FacemaskError(f"{root}: class {list(folders)[counts.index(0)]!r} has no readable images")
    return LoadedDataset(samples, np.stack(crops), np.array(found), skipped)


def split_groups(
    samples: list[Sample], groups: np.ndarray, fractions=(0.8, 0.1, 0.1), seed: int = 42
) -> dict[str, list[int]]:
    """Stratified split by class in which every duplicate group lands on one side."""
    rng = np.random.default_rng(seed)
    labels = np.array([s.label for s in samples])
    split: dict[str, list[int]] = {name: [] for name in SPLITS}
    for cls in range(int(labels.max(initial=len(LABELS) - 1)) + 1):
        members = {int(g) for g in groups[labels == cls]}
        group_ids = sorted(g for g in members if np.bincount(labels[groups == g]).argmax() == cls)
        rng.shuffle(group_ids)
        total = int((labels == cls).sum())
        targets = {"test": fractions[2] * total, "val": fractions[1] * total}
        for g in group_ids:
            idx = np.nonzero(groups == g)[0].tolist()
            name = next((k for k in ("test", "val") if sum(labels[split[k]] == cls) < targets[k]), "train")
            split[name].extend(idx)
    return split


def dataset_fingerprint(samples: list[Sample], root: Path) -> str:
    lines = sorted(f"{s.path.relative_to(root)}\t{ALL_LABELS[s.label]}\t{s.sha256}" for s in samples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def split_document(samples: list[Sample], split: dict[str, list[int]], root: Path, seed: int) -> dict:
    doc = {
        "seed": seed,
        "splits": {k: sorted(str(samples[i].path.relative_to(root)) for i in v) for k, v in split.items()},
    }
    doc["sha256"] = hashlib.sha256(json.dumps(doc["splits"], sort_keys=True).encode()).hexdigest()
    return doc


def is_scene_set(root: Path) -> bool:
    """A Pascal VOC scene set (annotations/*.xml beside images/) rather than class folders."""
    return (Path(root) / "annotations").is_dir()


SCENE_LABELS = {"with_mask": "mask", "without_mask": "no_mask", "mask_weared_incorrect": "incorrect_mask"}


@dataclass
class SceneCrops:
    """Face crops cut from annotated scenes, with the by-scene split they came from."""

    data: LoadedDataset
    split: dict[str, list[int]]  # indices into data.samples, split by scene
    scenes: dict[str, list[str]]  # image file names per split


def load_scenes(
    root: Path, size: int, detect, cache_path: Path | None, seed: int, min_side: int = 10, incorrect: bool = False
) -> SceneCrops:
    """One crop per annotated mask/no-mask face, cut the way inference cuts it.

    The crop uses the detector's box where the detector finds that face (IoU >= 0.3), else the
    annotated box, with the same margin. Incorrectly worn masks have no right two-class label and are
    left out unless `incorrect` (a three- or four-class run), as are faces under `min_side` px, which
    hold no usable pixels.
    """
    pairs = voc_dataset(root)
    scenes = scene_split(pairs, seed)
    where = {name: split for split, names in scenes.items() for name in names}
    cache = CropCache(cache_path, size)
    samples, crops, found, skipped = [], [], [], []
    split: dict[str, list[int]] = {name: [] for name in SPLITS}
    for image_path, ann in pairs:
        try:
            data = read_image_bytes(image_path)
        except FacemaskError as exc:
            skipped.append((str(image_path), str(exc).split(": ", 1)[-1]))
            continue
        sha = hashlib.sha256(data).hexdigest()
        keep = [i for i, n in enumerate(ann.names) if n in SCENE_LABELS and (incorrect or n != "mask_weared_incorrect")]
        sides = np.maximum(ann.xyxy[:, 2] - ann.xyxy[:, 0], ann.xyxy[:, 3] - ann.xyxy[:, 1])
        keep = [i for i in keep if sides[i] >= min_side]
        keys = [f"{sha}:{i}" for i in keep]
        if any(k not in cache.entries for k in keys):
            try:
                image = decode_image(data, str(image_path))
            except FacemaskError as exc:
                skipped.append((str(image_path), str(exc).split(": ", 1)[-1]))
                continue
            faces = detect(image)
            assigned = match(faces.xyxy, faces.score, ann.xyxy)
            for i, key in zip(keep, keys):
                hit = np.flatnonzero(assigned == i)
                box = faces.xyxy[hit[0]] if len(hit) else ann.xyxy[i]
                cache.entries[key] = (0, face_crops(image, box[None], size)[0], bool(len(hit)))
        for i, key in zip(keep, keys):
            label = ALL_LABELS.index(SCENE_LABELS[ann.names[i]])
            split[where[image_path.name]].append(len(samples))
            samples.append(Sample(image_path, label, key, 0))
            _, crop, has_face = cache.entries[key]
            crops.append(crop)
            found.append(has_face)
    cache.save()
    if not samples:
        raise FacemaskError(f"{root}: no usable mask/no-mask faces in the annotations")
    return SceneCrops(LoadedDataset(samples, np.stack(crops), np.array(found), skipped), split, scenes)
