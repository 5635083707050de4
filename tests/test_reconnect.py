"""Streams that stop: reopened with backoff up to --reconnect times, then one clear error; shown confidence."""

from __future__ import annotations

import time

import numpy as np
import pytest
from video_fixtures import FakeCapture

from facemask.classification.classifier import MaskClassifier, centre_on_threshold
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.labels import labels_at
from facemask.core.types import shown_confidence
from facemask.io.streams import CameraSource


def drain(source: CameraSource) -> int:
    """Frames read until the source raises; returns how many."""
    count = 0
    with pytest.raises(FacemaskError) as info:
        while source.read() is not None:
            count += 1
    drain.error = str(info.value)
    return count


def test_a_stream_that_stops_is_reopened_then_gives_up_with_one_error():
    opened = []

    def factory(_src):
        opened.append(time.monotonic())
        return FakeCapture(fail_after=3) if len(opened) == 1 else FakeCapture(opened=False)  # 3 frames, then gone

    source = CameraSource(
        "rtsp://x/live", capture_factory=factory, max_failures=2, reconnect=2, backoff_s=0.05, read_timeout_s=2
    ).start()
    try:
        frames = drain(source)
    finally:
        source.stop()
    assert len(opened) == 3  # the first connection and two reconnections
    assert opened[2] - opened[1] >= 0.1 > 0  # backoff doubles: 0.05 s, then 0.1 s
    assert 1 <= frames <= 3
    assert drain.error == "stream rtsp://x/live stopped delivering frames after 3 frames and 2 reconnections"


def test_the_reconnect_budget_is_per_outage():
    connections = iter(
        [
            FakeCapture(fail_after=2),
            FakeCapture(opened=False),
            FakeCapture(fail_after=2),
            FakeCapture(opened=False),
            FakeCapture(opened=False),
        ]
    )
    source = CameraSource(
        "rtsp://x/live",
        capture_factory=lambda _s: next(connections),
        max_failures=2,
        reconnect=2,
        backoff_s=0.01,
        read_timeout_s=2,
    ).start()
    try:
        drain(source)
    finally:
        source.stop()
    assert drain.error.endswith("after 4 frames and 2 reconnections")  # the first outage healed at its 2nd try


def test_without_reconnect_a_dead_stream_fails_at_once():
    source = CameraSource(
        "rtsp://x/live", capture_factory=lambda _s: FakeCapture(fail_after=1), max_failures=2, read_timeout_s=2
    ).start()
    try:
        assert drain(source) == 1
    finally:
        source.stop()
    assert "reconnection" not in drain.error


@pytest.mark.parametrize("threshold", [0.3, 0.39, 0.5, 0.7])
def test_the_shown_label_is_always_the_likelier_after_centring(threshold):
    raw = np.linspace(0.01, 0.99, 99).astype(np.float32)
    shown = centre_on_threshold(raw, threshold)
    confidence = shown_confidence(labels_at(raw, threshold), shown)
    assert (confidence >= 0.5 - 1e-6).all()
    assert (np.diff(shown) > 0).all()  # same ordering of faces
    if threshold == 0.5:
        np.testing.assert_allclose(shown, raw, atol=1e-5)


def test_classify_reports_the_probability_of_the_shown_label(tiny_model):
    grey = np.full((120, 120, 3), 133, np.uint8)  # the brightness model reads P(no_mask) ~ 0.38 here
    from facemask.core.types import Faces

    faces = Faces(xyxy=[[20, 20, 100, 100]], score=[0.9])
    raw = MaskClassifier(ClassifierConfig(model=str(tiny_model))).classify(grey, faces)
    p_no_mask = 1.0 - float(raw.mask_prob[0])
    assert 0.2 < p_no_mask < 0.5
    strict = MaskClassifier(ClassifierConfig(model=str(tiny_model), threshold=p_no_mask - 0.1)).classify(grey, faces)
    record = strict.to_records()[0]
    assert record["label"] == "no_mask" and record["confidence"] > 0.5
