"""Unlabelled faces for distillation: train split only, the teacher's probability is their whole target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from video_fixtures import write_video

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.training.config import TrainConfig
from facemask.training.data import Pooled, Source
from facemask.training.dataset import LoadedDataset
from facemask.training.dedup import Sample
from facemask.training.unlabelled import load_unlabelled


def _source(n: int, size: int = 8) -> Source:
    samples = [Sample(Path(f"{i}.jpg"), i % 2, f"{i}", i) for i in range(n)]
    crops = np.full((n, size, size, 3), 7, np.uint8)
    split = {"train": list(range(0, n - 4)), "val": [n - 4, n - 3], "test": [n - 2, n - 1]}
    return Source("folder:x", Path("x"), LoadedDataset(samples, crops, np.ones(n, bool)), split, {})


def test_unlabelled_crops_join_the_train_split_only() -> None:
    extra = np.full((5, 8, 8, 3), 200, np.uint8)
    pooled = Pooled.of([_source(12)], extra)
    assert len(pooled.crops) == 17
    assert set(range(12, 17)) <= set(pooled.train.tolist())
    assert not set(range(12, 17)) & set(pooled.val.tolist() + pooled.tests[0].tolist())
    assert pooled.unlabelled.tolist() == [False] * 12 + [True] * 5
    assert (pooled.crops[pooled.unlabelled] == 200).all()


def test_an_unlabelled_crop_takes_the_teachers_probability_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    import facemask.training.data as data

    class Teacher:
        models = []
        threshold = 0.5

        def __init__(self, cfg) -> None: ...

        def predict_crops(self, *crops: np.ndarray) -> np.ndarray:
            return np.array([0.9, 0.2, 0.7])

    monkeypatch.setattr("facemask.classification.classifier.MaskClassifier", Teacher)
    monkeypatch.setattr("facemask.classification.classifier.centre_on_threshold", lambda p, t: p)
    cfg = TrainConfig(datasets=(), teacher="t", teacher_weight=0.5)
    crops = np.zeros((3, 8, 8, 3), np.uint8)
    targets = data.teacher_targets(cfg, crops, np.array([0, 1, 0]), np.array([False, False, True]))
    mask = data.LABELS.index("mask")
    labelled_mask = 1.0 if mask == 0 else 0.0
    assert targets[0, mask] == pytest.approx(0.5 * 0.9 + 0.5 * labelled_mask)
    assert targets[2, mask] == pytest.approx(0.7)  # no label to blend with
    assert targets.sum(axis=1) == pytest.approx(np.ones(3))


def test_unlabelled_needs_a_teacher() -> None:
    with pytest.raises(FacemaskError, match="--unlabelled needs --teacher"):
        TrainConfig(datasets=(), unlabelled=(Path("clip.mp4"),))


def test_faces_of_every_third_frame_are_cropped_and_cached(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    write_video(video, frames=10)
    calls = []

    def detect(image: np.ndarray) -> Faces:
        calls.append(image.shape)
        boxes = np.array([[10, 10, 60, 60], [0, 0, 10, 10]], np.float32)  # the second is too small to keep
        return Faces(xyxy=boxes, score=np.array([0.9, 0.9], np.float32))

    crops, described = load_unlabelled((video,), 16, detect, tmp_path, "k")
    assert len(calls) == 4  # frames 0, 3, 6, 9
    assert crops.shape == (4, 16, 16, 3)
    assert described == [{"path": str(video), "crops": 4, "every_nth_frame": 3}]
    again, _ = load_unlabelled((video,), 16, detect, tmp_path, "k")
    assert len(calls) == 4 and (again == crops).all()  # read from the cache, not detected again
