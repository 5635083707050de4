"""Camera-motion compensation (after BoT-SORT's global motion compensation): a panning or shaking camera
moves every face on the picture at once, which a constant-velocity model reads as each person
running; their tracks then miss their faces and the crowd is counted again.

Each frame, corners of the previous frame (downscaled to WIDTH px, faces masked out, since they move on
their own) are followed into this one by pyramidal Lucas-Kanade optical flow, and a similarity
transform (shift, rotation, scale) is fitted to them with RANSAC. The tracker moves its tracks by it
before predicting. Too few corners, or too few agreeing with the fit (people, not the camera,
moving), give no transform: the tracks stay where they were, as without compensation.
About 1-2 ms a frame at 720p.
"""

from __future__ import annotations

import cv2
import numpy as np

WIDTH = 320  # px: flow on a downscaled picture, cheap and steady
MAX_CORNERS = 150
MIN_POINTS = 12  # fewer followed corners give no transform
MIN_INLIERS = 0.5  # share of the corners the fit must explain
RANSAC_PX = 1.0  # in downscaled pixels


class CameraMotion:
    """`step(image, faces)`: the 2x3 transform from the previous frame's pixels to this one's, or None."""

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self._previous: np.ndarray | None = None
        self._scale = 1.0

    def reset(self) -> None:
        self._previous = None

    def step(self, image: np.ndarray, faces: np.ndarray) -> np.ndarray | None:
        """This frame in; the camera's motion since the last one (None: unknown or none). `faces` (xyxy in
        the previous frame) are left out of the fit."""
        scale = min(1.0, self.width / image.shape[1])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        previous, self._previous, self._scale = self._previous, gray, scale
        if previous is None or previous.shape != gray.shape:
            return None
        mask = np.full(gray.shape, 255, np.uint8)
        for x1, y1, x2, y2 in np.asarray(faces, np.float32).reshape(-1, 4) * scale:
            mask[max(0, int(y1)) : max(0, int(y2) + 1), max(0, int(x1)) : max(0, int(x2) + 1)] = 0
        corners = cv2.goodFeaturesToTrack(previous, MAX_CORNERS, 0.01, 6, mask=mask)
        if corners is None or len(corners) < MIN_POINTS:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, corners, None, winSize=(15, 15), maxLevel=2)
        followed = status.reshape(-1) == 1
        if followed.sum() < MIN_POINTS:
            return None
        fit, inliers = cv2.estimateAffinePartial2D(
            corners[followed], moved[followed], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
        )
        if fit is None or inliers is None or inliers.mean() < MIN_INLIERS:
            return None
        fit = fit.astype(np.float32)
        fit[:, 2] /= scale  # the shift back in full-size pixels; rotation and scale do not change
        return fit


def warp_boxes(fit: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Boxes moved by a similarity transform: centres mapped, sides scaled (they stay upright)."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    half = (xyxy[:, 2:] - xyxy[:, :2]) / 2 * _zoom(fit)
    moved = centre @ fit[:, :2].T + fit[:, 2]
    return np.concatenate([moved - half, moved + half], axis=1).astype(np.float32)


def warp_velocity(fit: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """A velocity turned and scaled with the picture (no shift: it is a difference of positions)."""
    return (fit[:, :2] @ np.asarray(velocity, np.float32)).astype(np.float32)


def _zoom(fit: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(fit[:, :2]))))
