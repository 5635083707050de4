"""The shipped default model on the shared real clips, through `facemask detect` as a user runs it."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO, shared_path

sys.path.insert(0, str(REPO / "tools"))
from clip_report import run_clip, summarize

DEFAULT_MODEL = REPO / "facemask" / "models" / "mask_lite.tflite"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"{DEFAULT_MODEL} not shipped yet")
    cache: dict[str, dict] = {}
    workdir = tmp_path_factory.mktemp("clips")

    def get(name: str, expected: str | None, model: str = "default") -> dict:
        if (name, model) not in cache:
            records, events = run_clip(shared_path("videos", name), model, workdir / model)
            cache[name, model] = summarize(records, events, expected)
        return cache[name, model]

    return get


@pytest.mark.parametrize(("name", "expected"), [("nomask_man.mp4", "no_mask"), ("mask_woman.mp4", "mask")])
def test_faces_found_and_labelled(clip, name, expected):
    s = clip(name, expected)
    assert s["face_rate"] >= 0.90, s
    assert s["label_accuracy"] >= 0.95, s


@pytest.mark.parametrize(
    ("name", "expected", "violations"), [("mask_woman.mp4", "mask", 0), ("nomask_man.mp4", "no_mask", 1)]
)
def test_violations_and_no_flicker(clip, name, expected, violations):
    s = clip(name, expected)
    assert s["violations"] == violations, s
    assert s["flips_smoothed"] == 0, s
    assert s["flips_smoothed"] <= s["flips_raw"]


def test_putting_a_mask_on_raises_one_or_two_violations_and_ends_masked(clip):
    s = clip("putting_mask_on.mp4", None)
    assert 1 <= s["violations"] <= 2, s
    assert s["last20_mask_fraction"] == 1.0, s


@pytest.mark.parametrize("model", ["default", "ensemble"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [("nomask_man.mp4", "no_mask"), ("mask_woman.mp4", "mask"), ("medical_staff_masks.mp4", "mask")],
)
def test_the_default_and_the_mean_label_the_clips_right_with_a_confidence_that_agrees(clip, name, expected, model):
    """Issue 19 item 2: the lite once called the bearded man in nomask_man "Mask" on 36 of 206 frames. The
    default (a single network since issue 28) and the mean must label >= 99 % of the frames right, and no
    label is shown under 50 % (issue 19's acceptance; the clips are in the lite's unlabelled training faces)."""
    s = clip(name, expected, model)
    assert s["label_accuracy"] >= 0.99, s
    assert s["min_shown_confidence"] >= 0.5, s
