"""One person's smoothed label: the classifier's per-frame readings folded into a label that does not flicker.

The label follows an exponential moving average of the per-frame *decisions* (one vote a reading) with
hysteresis: a label gives way when its share of the votes falls to 0.5 - hysteresis and another label's
share leads it by the hysteresis; that one is shown next. With two classes this is the old rule exactly
(no_mask's share reaching 0.5 + hysteresis turns `mask`, falling to 0.5 - hysteresis turns it back), as
the incorrect_mask share of a two-class model stays 0. The probabilities P(mask) and P(incorrect_mask)
are smoothed with the same alpha (P(no_mask) is the rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facemask import FACE_LABELS

NAN = float("nan")


def _ema(old: float, new: float, alpha: float) -> float:
    """The moving average; a missing (NaN) reading leaves it, a first one starts it."""
    if math.isnan(new):
        return old
    return new if math.isnan(old) else (1 - alpha) * old + alpha * new


def shown_probs(label: str, p: float, q: float) -> tuple[float, float]:
    """P(mask) and P(incorrect_mask) as shown: the label's probability never below another's.

    The label waits for a sustained change (hysteresis) while the probabilities follow each reading, so
    between the two the shown label would carry less than a rival. Until the label turns, the two are
    shown tied ("undecided"). P(no_mask) = 1 - p - q; with two classes (q = 0) this caps P(mask) at 0.5.
    """
    if label == "mask":
        p = max(p, (1 - q) / 2)  # tie with no_mask
        if q > p:
            p = q = (p + q) / 2
    elif label == "no_mask":
        p = min(p, (1 - q) / 2)
        if q > 1 - p - q:
            q = (1 - p) / 2
    elif label == "incorrect_mask":
        if p > q:
            p = q = (p + q) / 2
        if 1 - p - q > q:
            q = (1 - p) / 2
    return p, q


@dataclass
class SmoothedLabel:
    """The smoothed label and probabilities of one track, and its latest raw reading."""

    mask_prob: float = NAN  # smoothed P(mask)
    incorrect_prob: float = NAN  # smoothed P(incorrect_mask)
    vote: float = NAN  # smoothed no_mask decision in [0, 1]
    vote_incorrect: float = NAN  # smoothed incorrect_mask decision
    label: str = ""
    raw_mask_prob: float = NAN
    raw_incorrect_prob: float = NAN
    raw_label: str = ""
    face_prob: float = NAN  # the latest P(face), not smoothed

    def read(self, prob: float, incorrect: float, label: str, alpha: float, hysteresis: float) -> None:
        """Fold one classifier reading in; unclassified readings are ignored.

        `incorrect` is P(incorrect_mask): 0 from a two-class model (NaN, from faces built without it, reads 0).
        """
        if label not in FACE_LABELS:
            return
        if label != "incorrect_mask" and math.isnan(incorrect):
            incorrect = 0.0
        self.raw_mask_prob, self.raw_incorrect_prob, self.raw_label = prob, incorrect, label
        no_mask, wrong = float(label == "no_mask"), float(label == "incorrect_mask")
        if not self.label:  # first reading decides the first label
            self.mask_prob, self.incorrect_prob, self.label = prob, incorrect, label
            self.vote, self.vote_incorrect = no_mask, wrong
            return
        self.mask_prob = _ema(self.mask_prob, prob, alpha)
        self.incorrect_prob = _ema(self.incorrect_prob, incorrect, alpha)
        self.vote = (1 - alpha) * self.vote + alpha * no_mask
        self.vote_incorrect = (1 - alpha) * self.vote_incorrect + alpha * wrong
        self.label = self._turned(hysteresis)

    def _turned(self, hysteresis: float) -> str:
        votes = {
            "mask": 1.0 - self.vote - self.vote_incorrect,
            "no_mask": self.vote,
            "incorrect_mask": self.vote_incorrect,
        }
        if self.label == "mask":  # its share is the rest: compared so, the two-class rule is the old one exactly
            falls = self.vote + self.vote_incorrect >= 0.5 + hysteresis
        else:
            falls = votes[self.label] <= 0.5 - hysteresis
        best = max((k for k in FACE_LABELS if k != self.label), key=votes.__getitem__)
        return best if falls and votes[best] >= votes[self.label] + hysteresis else self.label

    def shown(self) -> tuple[float, np.ndarray]:
        """The shown P(mask) and class_prob row (FACE_LABELS) of the smoothed label."""
        p, q = shown_probs(self.label, self.mask_prob, self.incorrect_prob)
        return p, np.array([p, 1 - p - q, q], np.float32)

    def raw(self) -> np.ndarray:
        """The latest reading's class_prob row."""
        p, q = self.raw_mask_prob, self.raw_incorrect_prob
        return np.array([p, 1 - p - q, q], np.float32)
