"""Re-identification of a person lost for a few seconds: where they were last seen, and how they looked.

The look is a 3x3x3 colour histogram of the face box (27 numbers, a few microseconds a face): crude,
but a hair colour, a skin tone and a mask's colour together tell the people of one scene apart
well enough to let a lost track take back a face a little farther from where it was lost than
position alone dares (`REID_DISTANCE` face sizes, against TrackerConfig's relink distance), when the
two look alike (`REID_SIMILARITY`). Without a picture (a caller that passes none), position alone decides.
"""

from __future__ import annotations

import cv2
import numpy as np

from facemask.tracking.association import closeness

BINS = 3  # per colour channel
REID_SIMILARITY = 0.85  # histogram intersection at which two faces look like one person
REID_DISTANCE = 1.5  # face sizes a lost track may reach for a face that looks like it
LOOK_ALPHA = 0.3  # weight of the newest look in a track's running look
INNER = 0.2  # the box's outer fifth on each side is left out: background and neighbours


def looks(image: np.ndarray | None, xyxy: np.ndarray) -> np.ndarray:
    """(N, 27) normalised colour histograms of each box's inner part; NaN rows without a picture or a box."""
    out = np.full((len(xyxy), BINS**3), np.nan, np.float32)
    if image is None:
        return out
    h, w = image.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(xyxy, np.float32)):
        dx, dy = (x2 - x1) * INNER, (y2 - y1) * INNER
        left, top = max(0, int(x1 + dx)), max(0, int(y1 + dy))
        right, bottom = min(w, int(x2 - dx)), min(h, int(y2 - dy))
        if right - left < 2 or bottom - top < 2:
            continue
        hist = cv2.calcHist([image[top:bottom, left:right]], [0, 1, 2], None, [BINS] * 3, [0, 256] * 3)
        out[i] = hist.reshape(-1) / max(1.0, float(hist.sum()))
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Histogram intersection of every row of `a` with every row of `b`, in [0, 1]; 0 where either is unknown."""
    a = np.asarray(a, np.float32).reshape(-1, BINS**3)
    b = np.asarray(b, np.float32).reshape(-1, BINS**3)
    both = np.minimum(a[:, None, :], b[None, :, :]).sum(axis=2)
    return np.nan_to_num(both, nan=0.0)


def blend(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """A track's running look after one more face (the new one alone when either is unknown)."""
    if np.isnan(new).any():
        return old
    return new if np.isnan(old).any() else (1 - LOOK_ALPHA) * old + LOOK_ALPHA * new


def relink_score(closeness: np.ndarray, look_alike: np.ndarray, relink_distance: float) -> np.ndarray:
    """The lost-track pass's score (minus face sizes): as close as `relink_distance`, or as close as
    REID_DISTANCE and alike; -inf otherwise, so one threshold (-REID_DISTANCE) serves both."""
    near = closeness >= -relink_distance
    alike = (look_alike >= REID_SIMILARITY) & (closeness >= -REID_DISTANCE)
    return np.where(near | alike, closeness, -np.inf)


def heir(lost: list[tuple[np.ndarray, np.ndarray]], born: np.ndarray, look: np.ndarray, relink_distance: float) -> int:
    """Which lost person (their last box and look) a newly confirmed track is, from the box it was born with
    and its look: the index of the closest that `relink_score` accepts, or -1 for someone new.

    A face that comes back on a weak box starts a tentative track that keeps it from the re-link pass;
    asking again at confirmation still counts that person once."""
    if not lost:
        return -1
    near = closeness(np.array([b for b, _ in lost], np.float32), np.asarray(born, np.float32).reshape(1, 4))[:, 0]
    alike = similarity(np.array([k for _, k in lost], np.float32), look)[:, 0]
    score = relink_score(near, alike, relink_distance)
    best = int(np.argmax(score))
    return best if score[best] >= -max(relink_distance, REID_DISTANCE) else -1
