"""Training data: every source loaded, cropped as inference crops and split; pooled; the teacher's targets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.crops import CROP_MARGIN
from facemask.core.config import DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.detection.res10 import FAST_AREA
from facemask.training.config import TrainConfig
from facemask.training.dataset import (
    SPLITS,
    LoadedDataset,
    is_scene_set,
    load_dataset,
    load_scenes,
    split_document,
    split_groups,
)
from facemask.training.dedup import duplicate_groups


@dataclass
class Source:
    """One dataset source, loaded, cropped and split; its test split is reported on its own."""

    name: str
    root: Path
    data: LoadedDataset
    split: dict[str, list[int]]
    split_doc: dict


def crop_detector(cfg: TrainConfig) -> tuple[Callable[[np.ndarray], Faces], str]:
    """The detector that cuts training crops, and a key naming its settings for the crop caches."""
    from facemask.detection.loader import load_face_detector

    detector_cfg = DetectorConfig(mode="fast", confidence=0.5, backend=cfg.crop_detector)
    # Crops depend on the detector's settings too, so they are part of the cache's name.
    crop_key = hashlib.sha256(f"{detector_cfg}|{FAST_AREA}|{CROP_MARGIN}".encode()).hexdigest()[:10]
    return load_face_detector(detector_cfg).detect, crop_key


def load_sources(
    cfg: TrainConfig, detect: Callable[[np.ndarray], Faces], crop_key: str, labels: tuple[str, ...] = LABELS
) -> list[Source]:
    """Each `--dataset`: class folders get a de-duplicated split, scene sets a by-scene split.

    With `incorrect_mask` among `labels`, scene sets keep their incorrectly worn masks; with `not_face`,
    their train and val splits get mined not-faces (not_face.py).
    """
    sources = []
    for root in cfg.datasets:
        cache = cfg.cache_dir / f"crops_{cfg.input_size}_{crop_key}_{root.resolve().name}.npz"
        if is_scene_set(root):
            scenes = load_scenes(root, cfg.input_size, detect, cache, cfg.seed, incorrect=len(labels) > 2)
            doc = {"seed": cfg.seed, "by": "scene", "splits": scenes.scenes}
            if "not_face" in labels:
                from facemask.training.not_face import add_not_faces

                mined = cfg.cache_dir / f"notface_{root.resolve().name}.npz"
                doc["not_face"] = add_not_faces(scenes, root, cfg.input_size, mined, cfg.not_face, cfg.seed)
                print(f"not_face crops from scenes:{root.name} (train and val only): {doc['not_face']}")
            doc["sha256"] = hashlib.sha256(json.dumps(doc["splits"], sort_keys=True).encode()).hexdigest()
            sources.append(Source(f"scenes:{root.name}", root, scenes.data, scenes.split, doc))
        else:
            data = load_dataset(root, cfg.input_size, detect, cache)
            groups = duplicate_groups(data.samples)
            split = split_groups(data.samples, groups, seed=cfg.seed)
            doc = split_document(data.samples, split, root, cfg.seed)
            sizes = np.unique(groups, return_counts=True)[1]
            doc["duplicates"] = {"groups": int((sizes > 1).sum()), "images": int(sizes[sizes > 1].sum())}
            sources.append(Source(f"folder:{root.name}", root, data, split, doc))
    return sources


def teacher_targets(
    cfg: TrainConfig, crops: np.ndarray, labels: np.ndarray, unlabelled: np.ndarray, n_labels: int = len(LABELS)
) -> np.ndarray:
    """Training targets: the one-hot label, blended with the teacher's calibrated probabilities.

    The teacher (for example the shipped mean) sees each crop resized to each member's input size;
    its P(mask) is centred on its own cut, so 0.5 means undecided on every teacher (two labels only:
    classes.run_labels refuses a teacher for more). An unlabelled
    crop (`unlabelled` True) has no label to blend with: the teacher's probability is its target.
    """
    onehot = np.eye(n_labels, dtype=np.float32)[labels]
    if not cfg.teacher or cfg.teacher_weight == 0.0:
        return onehot
    import cv2

    from facemask.classification.classifier import MaskClassifier, centre_on_threshold
    from facemask.core.config import ClassifierConfig

    clf = MaskClassifier(ClassifierConfig(model=cfg.teacher))
    sizes = [m.card.input_size for m in clf.models]
    p_mask = []
    for start in range(0, len(crops), 64):
        batch = crops[start : start + 64]
        resized = [np.stack([cv2.resize(c, (s, s), interpolation=cv2.INTER_LINEAR) for c in batch]) for s in sizes]
        p_mask.append(centre_on_threshold(clf.predict_crops(*resized), clf.threshold))
    p = np.concatenate(p_mask).astype(np.float32)
    soft = np.zeros_like(onehot)
    soft[:, LABELS.index("mask")] = p
    soft[:, LABELS.index("no_mask")] = 1.0 - p
    labelled = ~unlabelled
    agree = float((soft[labelled].argmax(axis=1) == labels[labelled]).mean())
    print(f"teacher {cfg.teacher}: agrees with the labels on {agree:.2%} of {labelled.sum()} labelled training crops")
    weight = np.where(unlabelled, 1.0, cfg.teacher_weight).astype(np.float32)[:, None]
    return weight * soft + (1.0 - weight) * onehot


@dataclass
class Pooled:
    """Every source's crops in one array: one train and one val set, and a test split per source."""

    crops: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    val: np.ndarray
    tests: list[np.ndarray]
    unlabelled: np.ndarray  # (N,) bool: a teacher-labelled crop from --unlabelled, in train only
    names: tuple[str, ...] = LABELS  # the run's labels (classes.run_labels); `labels` index them

    @classmethod
    def of(cls, sources: list[Source], extra: np.ndarray | None = None, names: tuple[str, ...] = LABELS) -> Pooled:
        """`extra`: unlabelled crops, appended to the train split (their label slot is a placeholder)."""
        crops = np.concatenate([s.data.crops for s in sources])
        labels = np.concatenate([[x.label for x in s.data.samples] for s in sources]).astype(np.int64)
        offsets = np.cumsum([0] + [len(s.data.samples) for s in sources])
        index = {k: [np.asarray(s.split[k], np.int64) + o for s, o in zip(sources, offsets)] for k in SPLITS}
        train, val = np.concatenate(index["train"]), np.concatenate(index["val"])
        missing = [n for i, n in enumerate(names) if i not in set(labels[train].tolist())]
        if min(len(train), len(val)) == 0 or missing:
            raise FacemaskError(
                "too few images to train: every class needs images in the train and val splits"
                + (f" (none of {', '.join(missing)} in train)" if missing and len(train) else "")
            )
        flags = np.zeros(len(crops), bool)
        if extra is not None and len(extra):
            train = np.concatenate([train, np.arange(len(crops), len(crops) + len(extra))])
            crops, labels = np.concatenate([crops, extra]), np.concatenate([labels, np.zeros(len(extra), np.int64)])
            flags = np.concatenate([flags, np.ones(len(extra), bool)])
        return cls(crops, labels, train, val, index["test"], flags, names)


def describe_sources(sources: list[Source], out: Path) -> list[tuple[str, str]]:
    """Print and write what was read, skipped and split; returns the skipped (path, reason) pairs."""
    skipped = [item for s in sources for item in s.data.skipped]
    (out / "skipped.txt").write_text("".join(f"{p}\t{why}\n" for p, why in skipped))
    for path, why in skipped:
        print(f"skipped: {path} ({why})")
    for s in sources:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in s.split.items())
        dups = s.split_doc.get("duplicates")
        dup_note = (
            f"; {dups['images']} images in {dups['groups']} duplicate groups, each on one side"
            if dups and dups["groups"]
            else ""
        )
        print(
            f"{s.name}: {len(s.data.samples)} crops ({sizes}{dup_note}), "
            f"faces found by the detector in {s.data.face_found.mean():.0%}"
        )
    (out / "split.json").write_text(json.dumps({s.name: s.split_doc for s in sources}, indent=1))
    return skipped


def save_eval_data(out: Path, sources: list[Source], data: Pooled) -> None:
    """What `export` needs to check a quantized file: calibration crops and every test split."""
    extra = {f"extra_x_{i}": data.crops[t] for i, t in enumerate(data.tests[1:])}
    extra |= {f"extra_y_{i}": data.labels[t] for i, t in enumerate(data.tests[1:])}
    np.savez_compressed(
        out / "eval_data.npz",
        calib=data.crops[data.train][:: max(1, len(data.train) // 200)],
        test_x=data.crops[data.tests[0]],
        test_y=data.labels[data.tests[0]],
        extra_names=np.array([s.name for s in sources[1:]]),
        **extra,
    )
