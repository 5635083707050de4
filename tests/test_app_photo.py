"""Photos behind the web page, without a browser: facemask.app.photo through the image pipeline, fake models."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from test_pipeline import FakeClassifier, FakeDetector

from facemask.app.photo import MB, PhotoResult, face_rows, process_photos
from facemask.core.config import ClassifierConfig, DetectorConfig, PipelineConfig
from facemask.pipeline.annotate import FaceAnnotator
from facemask.pipeline.builder import build_pipeline


class Upload:
    """What the page reads of Streamlit's UploadedFile."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data, self.size = name, data, len(data)

    def getvalue(self) -> bytes:
        return self.data


def photo_pipeline():
    config = PipelineConfig.for_images(DetectorConfig(mode="accurate"), ClassifierConfig())
    return build_pipeline(config, detector=FakeDetector(), classifier=FakeClassifier())  # type: ignore[arg-type]


def test_each_upload_gets_its_result_or_its_message_in_order():
    image = np.full((60, 80, 3), 40, np.uint8)
    png = cv2.imencode(".png", image)[1].tobytes()
    uploads = [Upload("a.png", png), Upload("junk.jpg", b"junk"), Upload("big.png", b"x" * (2 * MB + 1))]
    out = process_photos(uploads, photo_pipeline(), max_mb=2)
    assert isinstance(out[0], PhotoResult) and (out[0].name, out[0].width, out[0].height) == ("a.png", 80, 60)
    assert "junk.jpg" in out[1] and "big.png" in out[2] and "over the 2 MB upload limit" in out[2]
    assert len(out) == 3
    drawn = FaceAnnotator().annotate(image, out[0].faces)  # boxes and labels only: no FPS or counters panel
    assert np.array_equal(cv2.imdecode(np.frombuffer(out[0].png, np.uint8), cv2.IMREAD_COLOR), drawn)
    assert out[0].record() == {"source": "a.png", "width": 80, "height": 60, "faces": out[0].faces.to_records()}
    assert face_rows(out[0].faces)[0]["label"] == "mask"


# ---------------------------------------------------------------- the page's model lock


def test_the_page_locks_per_model_call_not_per_clip():
    """Two threads share one model: the lock is held during each call only, so another caller gets in between."""
    pytest.importorskip("streamlit")
    from facemask.app.page import Locked

    lock = threading.Lock()
    seen_locked = []

    class Model:
        config = "passes through"

        def detect(self, image):
            seen_locked.append(lock.locked())
            return image

    model = Locked(Model(), lock)
    assert model.config == "passes through"
    assert model.detect(1) == 1 and seen_locked == [True]
    assert not lock.locked()  # released between calls: a second tab's photo waits one frame, not a clip
