"""The rules about labels, each written once: a card's labels, the cut between them, and compliance.

The labels themselves are `facemask.LABELS`; the confidence of a shown label is
`types.shown_confidence` (it travels with `Faces`).
"""

from __future__ import annotations

import numpy as np

from facemask import LABELS

# Every label a classifier may output, in output order: a card's labels are the first two, three or four.
ALL_LABELS = (*LABELS, "incorrect_mask", "not_face")


def labels_problem(labels) -> str | None:
    """What is wrong with a card's `labels`: they must be LABELS in that order (swapped ones swap every answer),
    or LABELS followed by incorrect_mask (and not_face)."""
    if labels in (list(LABELS), list(ALL_LABELS[:3]), list(ALL_LABELS)):
        return None
    return f"labels must be {list(LABELS)} in that order, got {labels!r}"


def no_mask_at(mask_prob, threshold: float) -> np.ndarray:
    """The cut: True where P(no_mask) = 1 - P(mask) reaches the threshold."""
    return 1.0 - np.asarray(mask_prob) >= threshold


def labels_at(mask_prob, threshold: float) -> np.ndarray:
    """`no_mask` where P(no_mask) reaches the threshold, else `mask`, as the object array `Faces` holds."""
    return np.where(no_mask_at(mask_prob, threshold), "no_mask", "mask").astype(object)


def compliance_rate(masked: float, unmasked: float) -> float | None:
    """Masked / masked + unmasked (people, or seconds of them), 4 decimals; None before anyone has a label."""
    return round(masked / (masked + unmasked), 4) if masked + unmasked else None


def compliance_text(rate: float | None) -> str:
    """A compliance rate as every output words it: `67%`, or `-` while it is unknown."""
    return "-" if rate is None else f"{rate:.0%}"
