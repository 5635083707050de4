"""Temperature scaling and the calibration figures the model card reports."""

from __future__ import annotations

import numpy as np
import pytest

from facemask.training.metrics import calibration_report, fit_temperature


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is calibrated by construction: labels drawn from the probabilities."""
    rng = np.random.default_rng(seed)
    logits = np.stack([np.zeros(n), rng.normal(0, 3, n)], axis=1)
    probs = _softmax(logits)
    y = (rng.random(n) < probs[:, 1]).astype(np.int64)
    return logits, y


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_distortion(true_t):
    logits, y = _calibrated_sample(20000, 0)
    distorted = _softmax(logits / true_t)  # over- (t < 1) or under-confident (t > 1)
    assert fit_temperature(distorted, y) == pytest.approx(1 / true_t, rel=0.08)


def test_ece_is_small_when_calibrated_and_large_when_overconfident():
    logits, y = _calibrated_sample(20000, 1)
    assert calibration_report(_softmax(logits), y)["ece"] < 0.02
    assert calibration_report(_softmax(logits * 4), y)["ece"] > 0.05


def test_reliability_bins_count_every_sample():
    logits, y = _calibrated_sample(500, 2)
    report = calibration_report(_softmax(logits), y)
    assert sum(b["n"] for b in report["bins"]) == 500
    assert all(b["low"] >= 0.5 for b in report["bins"])
