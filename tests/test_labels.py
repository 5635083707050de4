"""The one-line rules, each in one place: the shown confidence, the label cut, compliance's wording."""

from __future__ import annotations

import numpy as np
import pytest

from facemask.core.labels import compliance_rate, compliance_text, labels_at, labels_problem, no_mask_at
from facemask.core.types import Faces, shown_confidence


@pytest.mark.parametrize(
    ("label", "p_mask", "expected"),
    [("mask", 0.9, 0.9), ("no_mask", 0.2, 0.8), ("no_mask", 0.5, 0.5), ("", 0.3, 0.7)],
)
def test_shown_confidence_is_the_probability_of_the_shown_label(label, p_mask, expected):
    assert shown_confidence(label, p_mask) == pytest.approx(expected)
    assert isinstance(shown_confidence(label, p_mask), float)


def test_faces_confidence_per_face_and_nan_while_unclassified():
    faces = Faces(
        xyxy=np.zeros((3, 4)),
        score=[0.9, 0.9, 0.9],
        mask_prob=[0.9, 0.2, np.nan],
        label=["mask", "no_mask", ""],
        raw_mask_prob=[0.4, 0.2, np.nan],
        raw_label=["no_mask", "no_mask", ""],
    )
    np.testing.assert_allclose(faces.confidence[:2], [0.9, 0.8])
    np.testing.assert_allclose(faces.raw_confidence[:2], [0.6, 0.8])
    assert np.isnan(faces.confidence[2]) and np.isnan(faces.raw_confidence[2])
    assert [r["confidence"] for r in faces.to_records()] == [0.9, 0.8, None]


@pytest.mark.parametrize(
    ("p_mask", "threshold", "label"),
    [(0.6, 0.5, "mask"), (0.5, 0.5, "no_mask"), (0.62, 0.39, "mask"), (0.55, 0.4, "no_mask"), (0.0, 1.0, "no_mask")],
)
def test_the_cut_reads_no_mask_when_p_no_mask_reaches_the_threshold(p_mask, threshold, label):
    p = np.array([p_mask], np.float32)
    assert labels_at(p, threshold).tolist() == [label]
    assert no_mask_at(p, threshold).tolist() == [label == "no_mask"]
    assert labels_at(p, threshold).dtype == object


@pytest.mark.parametrize(
    ("labels", "ok"),
    [
        (["mask", "no_mask"], True),
        (["mask", "no_mask", "incorrect_mask"], True),
        (["mask", "no_mask", "incorrect_mask", "not_face"], True),
        (["no_mask", "mask"], False),
        (["mask", "incorrect_mask", "no_mask"], False),
        (["mask", "no_mask", "not_face"], False),
        (None, False),
        (["mask"], False),
    ],
)
def test_card_labels_must_be_one_of_the_lists_in_order(labels, ok):
    problem = labels_problem(labels)
    assert (problem is None) is ok
    if not ok:
        assert problem.startswith("labels must be ['mask', 'no_mask'] or ['mask', 'no_mask', 'incorrect_mask'] or")


@pytest.mark.parametrize(
    ("masked", "unmasked", "rate", "text"),
    [(0, 0, None, "-"), (2, 1, 0.6667, "67%"), (0, 3, 0.0, "0%"), (4, 0, 1.0, "100%")],
)
def test_compliance_rate_and_its_wording(masked, unmasked, rate, text):
    assert compliance_rate(masked, unmasked) == rate
    assert compliance_text(rate) == text
