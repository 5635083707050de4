"""What is drawn fits: box labels and the panel stay inside the picture at any size, labels never cover each other."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facemask.alerts.monitor import ViolationMonitor, counter_lines
from facemask.core.types import Faces
from facemask.pipeline.annotate import FONT, FaceAnnotator, TextPanel

WIDTHS = [320, 338, 400, 640, 1280, 3840]


def _crowd(width: int, height: int, n: int, side: int) -> Faces:
    """`n` faces side by side along the top and right edges, as in a crowded photo."""
    xs = np.linspace(0, width - side, n)
    boxes = [[x, 2, x + side, 2 + side] for x in xs] + [[width - side // 2, height // 2, width + 5, height // 2 + side]]
    labels = ["no_mask" if i % 2 else "mask" for i in range(len(boxes))]
    return Faces(
        xyxy=np.array(boxes, np.float32),
        score=np.full(len(boxes), 0.9),
        mask_prob=np.array([0.97 if lab == "mask" else 0.03 for lab in labels]),
        label=np.array(labels, dtype=object),
        track_id=np.arange(101, 101 + len(boxes)),
    )


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", WIDTHS)
def test_box_labels_stay_inside_and_do_not_cover_each_other(width):
    """Issue 19 item 3: labels cut at the right edge ("No M") and covering their neighbours on 400-px photos."""
    height = width * 3 // 4
    faces = _crowd(width, height, n=6, side=max(24, width // 10))
    placed = FaceAnnotator().labels(faces, (height, width, 3))
    assert len(placed) == len(faces)
    for _, text, (x1, y1, x2, y2) in placed:
        assert 0 <= x1 and x2 <= width and 0 <= y1 and y2 <= height, (text, (x1, y1, x2, y2))
    rects = [rect for _, _, rect in placed]
    assert not any(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_counter_panel_fits_at_any_width(width):
    """Issue 19 item 3: on the 338-px clip the counter line was cut off (`No mask: (`)."""
    counters = ViolationMonitor().counters() | {"people": 128, "violations": 113, "resolved": 100}
    lines = ["FPS 24.9", *counter_lines(counters)]
    height = width * 16 // 9  # portrait: the narrowest frame for its height
    scale, wrapped = TextPanel().layout(width, height, lines)
    assert " ".join(wrapped).split() == " ".join(lines).split()  # nothing dropped, only wrapped
    for piece in wrapped:
        assert cv2.getTextSize(piece, FONT, scale, 1)[0][0] <= width - 20, piece
    assert scale >= 0.4  # still readable
    step = cv2.getTextSize("Ag", FONT, scale, 1)[0][1] * 2
    assert step * (len(wrapped) + 1) < height  # the panel fits a portrait frame's height


def test_annotate_draws_a_copy():
    image = np.zeros((240, 320, 3), np.uint8)
    out = FaceAnnotator().annotate(image, _crowd(320, 240, n=3, side=40))
    assert not image.any() and out.any()
    panel = TextPanel().annotate(image, ["People 1"])
    assert not image.any() and panel.any()


def test_box_labels_keep_clear_of_the_panel():
    """On the 338-px portrait clip the panel covered a face's label."""
    from facemask.pipeline.overlay import Overlay

    counters = ViolationMonitor().counters()
    lines = Overlay(counter_lines=counter_lines).lines(19.2, counters)
    panel = TextPanel().extent((640, 338, 3), lines)
    faces = _crowd(338, 640, n=1, side=120)
    for _, text, rect in FaceAnnotator().labels(faces, (640, 338, 3), [panel]):
        assert not _overlap(rect, panel), (text, rect, panel)


def _ink_rows(image: np.ndarray) -> np.ndarray:
    """Rows holding the panel's white text."""
    return np.flatnonzero((image.min(axis=2) > 200).any(axis=1))


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (720, 1280)])
def test_panel_text_is_at_least_2_percent_of_the_frame_height(size):
    """Issue 32: the panel was too small to read at 720p. Its capitals, as drawn, measured on the rendered frame."""
    from facemask.pipeline.overlay import Overlay

    width, height = size
    image = np.full((height, width, 3), 60, np.uint8)
    out = Overlay(counter_lines=counter_lines).draw(image, Faces.empty(), ["FPS 25.0"])  # capitals and digits only
    rows = _ink_rows(out)
    assert rows.size, "no panel text drawn"
    assert rows[-1] - rows[0] + 1 >= 0.02 * height, (rows[0], rows[-1], height)
