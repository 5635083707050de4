"""The scored clip set: people, compliance and events from `facemask detect` on the shared clips, per schedule.

Ground truth is tests/clips_truth.json. The clips of the acceptance checks run under all four
schedules (detect every frame, every 2nd = the default, every 5th, real time with drops);
the long medical clip runs at the default only, to keep CI on 2 cores affordable.

On the crowd clip the count is held between two truths: at least 70 % of the faces of 32 px or
more (the detector's stated target; each must count) and at most 130 % of every face a person
counts there (id fragments must not inflate the count past the crowd). Whether it reaches
within 30 % of every face depends on how many 10-30 px faces the detector finds; that figure is
reported in docs/benchmarks.md, not asserted here.
"""

from __future__ import annotations

import sys

import pytest
from conftest import REPO, shared_path

sys.path.insert(0, str(REPO / "tools"))
from clip_counts import SCHEDULES, load_truth, run_counts, score

ALL = tuple(SCHEDULES)
MATRIX = {
    "nomask_man.mp4": ALL,
    "mask_woman.mp4": ALL,
    "putting_mask_on.mp4": ALL,
    "dancers_nomask.mp4": ALL,
    "medical_staff_masks.mp4": ("every2",),
}
CASES = [(clip, schedule) for clip, schedules in MATRIX.items() for schedule in schedules]
PEOPLE_TOLERANCE = 0.30
MAX_IDS_PER_PERSON = 1.5  # at the default schedule


def test_every_shared_clip_has_ground_truth_and_a_place_in_the_matrix():
    videos = shared_path("videos")
    names = {p.name for p in videos.glob("*.mp4")}
    assert names == set(load_truth()) == set(MATRIX)


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("clip_counts")
    cache: dict[tuple[str, str], dict] = {}

    def get(clip: str, schedule: str) -> dict:
        if (clip, schedule) not in cache:
            got = run_counts(shared_path("videos", clip), schedule, workdir)
            cache[clip, schedule] = score(got, load_truth()[clip])
        return cache[clip, schedule]

    return get


@pytest.mark.parametrize(("clip", "schedule"), CASES)
def test_people_and_compliance_match_the_ground_truth(counts, clip, schedule):
    truth = load_truth()[clip]
    got = counts(clip, schedule)
    if truth["people"] == 1:
        assert got["people"] == 1, got
    else:
        low = (1 - PEOPLE_TOLERANCE) * truth.get("people_32px", truth["people"])
        assert low <= got["people"] <= (1 + PEOPLE_TOLERANCE) * truth["people"], got
    if truth["masked"] == 0:
        assert got["compliance_rate"] is not None and got["compliance_rate"] <= 0.15, got
    elif truth["masked"] == truth["people"]:
        assert got["compliance_rate"] is not None and got["compliance_rate"] >= 0.85, got
    for event in ("violations", "resolved"):
        if event in truth:
            assert got[event] == truth[event], got
    if schedule == "every2":
        assert got["ids_per_person"] <= MAX_IDS_PER_PERSON, got
