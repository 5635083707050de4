"""The rules about labels, each written once: a card's labels, the decision between them, and compliance.

The labels themselves are `facemask.LABELS` (a two-class card), `FACE_LABELS` (every label a face can
read) and `NOT_FACE`; the confidence of a shown label is `types.shown_confidence` (it travels with `Faces`).
"""

from __future__ import annotations

import numpy as np

from facemask import FACE_LABELS, LABELS, NOT_FACE

CARD_LABELS: tuple[tuple[str, ...], ...] = (LABELS, FACE_LABELS, (*FACE_LABELS, NOT_FACE))
"""The label lists a card may carry, in order: two classes (cut at a threshold), three, or four (argmax)."""

ALL_LABELS = CARD_LABELS[-1]
"""Every label a classifier may output, in output order: a card's labels are the first two, three or four."""


def labels_problem(labels) -> str | None:
    """What is wrong with a card's `labels`: one of CARD_LABELS, in that order (swapped ones swap every answer)."""
    if isinstance(labels, list) and tuple(labels) in CARD_LABELS:
        return None
    allowed = " or ".join(str(list(c)) for c in CARD_LABELS)
    return f"labels must be {allowed} in that order, got {labels!r}"


def decision_problem(labels, decision) -> str | None:
    """A multi-class card must say it decides by `argmax`; a two-class one cuts at its threshold."""
    multi = isinstance(labels, list) and len(labels) > len(LABELS)
    if multi and decision != "argmax":
        return f'a card with labels {labels!r} needs "decision": "argmax", got {decision!r}'
    if not multi and decision not in (None, "threshold"):
        return f'a two-class card decides at its threshold ("decision": "threshold" or none), got {decision!r}'
    return None


def no_mask_at(mask_prob, threshold: float) -> np.ndarray:
    """The cut: True where P(no_mask) = 1 - P(mask) reaches the threshold."""
    return 1.0 - np.asarray(mask_prob) >= threshold


def labels_at(mask_prob, threshold: float) -> np.ndarray:
    """`no_mask` where P(no_mask) reaches the threshold, else `mask`, as the object array `Faces` holds."""
    return np.where(no_mask_at(mask_prob, threshold), "no_mask", "mask").astype(object)


def two_class_probs(mask_prob) -> np.ndarray:
    """A two-class reading as FACE_LABELS' columns: P(mask), P(no_mask) = 1 - P(mask), P(incorrect_mask) = 0."""
    p = np.asarray(mask_prob, np.float32).reshape(-1)
    return np.stack([p, 1.0 - p, np.zeros_like(p)], axis=1)


def face_probs(probs: np.ndarray, labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A multi-class model's softmax rows (in its card's `labels` order) as (class_prob over FACE_LABELS, P(face)).

    `not_face` is dropped and the face classes renormalised to sum to 1; P(face) = 1 - P(not_face), 1.0 when
    the model has no such output.
    """
    probs = np.asarray(probs, np.float64).reshape(len(probs), len(labels))
    face = 1.0 - probs[:, labels.index(NOT_FACE)] if NOT_FACE in labels else np.ones(len(probs))
    cols = probs[:, [labels.index(k) for k in FACE_LABELS]]
    total = cols.sum(axis=1, keepdims=True)
    cols = np.divide(cols, total, out=np.full_like(cols, 1.0 / len(FACE_LABELS)), where=total > 0)
    return cols.astype(np.float32), face.astype(np.float32)


def argmax_labels(class_prob: np.ndarray) -> np.ndarray:
    """The likeliest of FACE_LABELS per row (ties: the earlier label), as the object array `Faces` holds."""
    return np.asarray(FACE_LABELS, dtype=object)[np.argmax(np.asarray(class_prob).reshape(-1, 3), axis=1)]


def compliance_rate(masked: float, unmasked: float) -> float | None:
    """Masked / masked + unmasked (people, or seconds of them), 4 decimals; None before anyone has a label.

    `unmasked` counts every face label but `mask`: no mask, and a mask worn wrong, are both not compliant.
    """
    return round(masked / (masked + unmasked), 4) if masked + unmasked else None


def compliance_text(rate: float | None) -> str:
    """A compliance rate as every output words it: `67%`, or `-` while it is unknown."""
    return "-" if rate is None else f"{rate:.0%}"
