from __future__ import annotations

import cv2
import numpy as np
import pytest

from facemask.core.errors import FacemaskError
from facemask.core.types import Faces
from facemask.training.dataset import class_folders, load_dataset, split_groups
from facemask.training.dedup import duplicate_groups


def _photo(seed: int, size: int = 64) -> np.ndarray:
    """A distinct smooth random picture, so perceptual hashes differ between seeds."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _no_faces(image):
    return Faces.empty()


def _make(root, layout: dict[str, int], start: int = 0):
    seed = start
    for folder, n in layout.items():
        (root / folder).mkdir(parents=True)
        for _ in range(n):
            cv2.imwrite(str(root / folder / f"{seed}.png"), _photo(seed))
            seed += 1


@pytest.mark.parametrize("names", [("with_mask", "without_mask"), ("Mask", "NO_MASK"), ("WITH_MASK", "no_mask")])
def test_class_folder_names_are_accepted_in_any_case(tmp_path, names):
    _make(tmp_path, {names[0]: 1, names[1]: 1})
    assert set(class_folders(tmp_path)) == {"mask", "no_mask"}


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "no class folders"),
        ({"with_mask": 2}, "only one class"),
        ({"with_mask": 2, "without_mask": 0}, "no readable images"),
    ],
)
def test_bad_dataset_layouts(tmp_path, layout, message):
    _make(tmp_path, layout)
    with pytest.raises(FacemaskError, match=message):
        load_dataset(tmp_path, 32, _no_faces)


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(FacemaskError, match="not found"):
        load_dataset(tmp_path / "nope", 32, _no_faces)


def test_unreadable_files_are_skipped_and_listed(tmp_path):
    _make(tmp_path, {"with_mask": 3, "without_mask": 3})
    (tmp_path / "with_mask" / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    (tmp_path / "without_mask" / "empty.png").write_bytes(b"")
    (tmp_path / "without_mask" / "notes.txt").write_text("hi")
    data = load_dataset(tmp_path, 32, _no_faces)
    assert len(data.samples) == 6
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in data.skipped) == ["broken.jpg", "empty.png", "notes.txt"]
    assert data.crops.shape == (6, 32, 32, 3)


def test_crop_cache_skips_detection_on_rerun(tmp_path):
    _make(tmp_path / "ds", {"with_mask": 2, "without_mask": 2})
    calls = []

    def counting(image):
        calls.append(1)
        return Faces.empty()

    cache = tmp_path / "cache.npz"
    first = load_dataset(tmp_path / "ds", 32, counting, cache)
    second = load_dataset(tmp_path / "ds", 32, counting, cache)
    assert len(calls) == 4
    assert (first.crops == second.crops).all()


def test_duplicates_and_reencodes_share_a_side_of_the_split(tmp_path):
    _make(tmp_path, {"with_mask": 30, "without_mask": 30})
    original = tmp_path / "with_mask" / "0.png"
    (tmp_path / "with_mask" / "0_copy.png").write_bytes(original.read_bytes())
    big = cv2.resize(cv2.imread(str(original)), (150, 150))
    cv2.imwrite(str(tmp_path / "with_mask" / "0_big.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 70])
    data = load_dataset(tmp_path, 32, _no_faces)
    groups = duplicate_groups(data.samples)
    names = [s.path.name for s in data.samples]
    trio = {groups[names.index(n)] for n in ("0.png", "0_copy.png", "0_big.jpg")}
    assert len(trio) == 1
    assert len(set(groups)) == len(data.samples) - 2  # only the trio merged
    split = split_groups(data.samples, groups, seed=1)
    side = {n: k for k, idx in split.items() for i in idx for n in [names[i]]}
    assert side["0.png"] == side["0_copy.png"] == side["0_big.jpg"]
    assert sorted(i for idx in split.values() for i in idx) == list(range(len(names)))
    for k in ("val", "test"):
        labels = [data.samples[i].label for i in split[k]]
        assert labels.count(0) >= 3 and labels.count(1) >= 3  # stratified


def test_split_is_reproducible_with_a_seed(tmp_path):
    _make(tmp_path, {"with_mask": 20, "without_mask": 20})
    data = load_dataset(tmp_path, 32, _no_faces)
    groups = duplicate_groups(data.samples)
    assert split_groups(data.samples, groups, seed=3) == split_groups(data.samples, groups, seed=3)
    assert split_groups(data.samples, groups, seed=3) != split_groups(data.samples, groups, seed=4)
