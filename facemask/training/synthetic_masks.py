"""Synthetic masks drawn on unmasked face crops, aimed at the errors measured on outside photos.

Coloured, patterned, black and N95 masks, often on turned faces, were read as "no mask". Drawing
such masks on `without_mask` crops makes `with_mask` samples the folders lack. Everything is placed
from five landmarks (two eyes, nose tip, two mouth corners) as fractions of the crop side; without
a detector's landmarks, CANONICAL gives where they sit in a square training crop (15 % margin around
the detector's box), jittered for scale, roll and turn (profile). Masks cover nose bridge to chin
and never reach the eyes. See hard_negatives.py for the look-alikes that must stay "no mask".
"""

from __future__ import annotations

import cv2
import numpy as np

# Left eye, right eye, nose tip, left and right mouth corners, as (x, y) fractions of the crop side.
CANONICAL = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.58], [0.35, 0.75], [0.65, 0.75]], np.float32)
MASK_STYLES = ("surgical", "colour", "black", "pattern", "n95")
# Where the mask sits: worn right (nose bridge to chin), or worn wrong (issue 38): below the nose, nose
# bare; or pulled down on the chin, nose and mouth bare.
PLACEMENTS = ("over_nose", "below_nose", "chin")


def jittered_landmarks(rng: np.random.Generator) -> np.ndarray:
    """CANONICAL moved as a detector's crops vary: shift, scale, roll, and a turn that moves nose and mouth."""
    lm = CANONICAL.copy()
    turn = rng.uniform(-0.12, 0.12)  # a turned head: nose and mouth move sideways, the eyes less
    lm[:, 0] += turn * np.array([0.3, 0.3, 1.0, 0.7, 0.7], np.float32)
    centre = np.array([0.5, 0.57], np.float32)
    angle = rng.uniform(-0.15, 0.15)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    lm = (lm - centre) @ rot.T * rng.uniform(0.9, 1.1) + centre
    return (lm + rng.normal(0.0, 0.01, 2)).astype(np.float32)


class FaceFrame:
    """Face coordinates: origin between the eyes, x along the eye line, unit = the distance between the eyes.

    The nose's sideways offset (`turn`) says how far the face is turned; its far side is narrower.
    """

    def __init__(self, landmarks: np.ndarray, size: int) -> None:
        pts = np.asarray(landmarks, np.float32) * size
        self.origin = (pts[0] + pts[1]) / 2
        axis = pts[1] - pts[0]
        self.unit = float(max(np.hypot(*axis), 1.0))
        self.u = axis / self.unit
        self.v = np.array([-self.u[1], self.u[0]], np.float32)
        self.turn = float(np.clip((pts[2] - self.origin) @ self.u / self.unit, -0.4, 0.4))
        mouth = (pts[3] + pts[4]) / 2 - self.origin
        self.mouth_y = float(mouth @ self.v / self.unit)
        self.nose_y = float((pts[2] - self.origin) @ self.v / self.unit)
        self.chin_y = self.mouth_y + 0.9 * (self.mouth_y - self.nose_y)

    def px(self, points) -> np.ndarray:
        """Face units to integer pixel (x, y) points for cv2."""
        p = np.asarray(points, np.float32)
        xy = self.origin + p[:, :1] * self.unit * self.u + p[:, 1:] * self.unit * self.v
        return np.round(xy).astype(np.int32)

    def side(self, x: float) -> float:
        """A sideways position, measured from the nose, with the side the face turns to narrowed."""
        return self.turn + x * (1.0 - np.sign(x) * self.turn)


def polygon_alpha(size: int, polygons: list[np.ndarray], feather: float = 0.6) -> np.ndarray:
    """A (size, size) 0-1 coverage of filled polygons, edges softened by `feather` px."""
    alpha = np.zeros((size, size), np.float32)
    cv2.fillPoly(alpha, polygons, 1.0, lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(alpha, (0, 0), feather) if feather > 0 else alpha


def random_colour(rng: np.random.Generator, saturated: bool = True) -> np.ndarray:
    """An RGB colour of any hue; saturated ones are the masks most often missed."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(90, 256) if saturated else rng.integers(0, 60), 255]]])
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
    return rgb * rng.uniform(0.35, 1.0)


def fabric(size: int, rng: np.random.Generator, style: str) -> np.ndarray:
    """A (size, size, 3) float RGB texture for a mask or scarf of this style."""
    base = {
        "surgical": lambda: np.array([rng.uniform(140, 200), rng.uniform(190, 230), rng.uniform(215, 250)]),
        "black": lambda: np.full(3, rng.uniform(10, 55)),
        "n95": lambda: np.full(3, rng.uniform(200, 245)) if rng.random() < 0.7 else random_colour(rng),
    }.get(style, lambda: random_colour(rng))()
    image = np.broadcast_to(np.asarray(base, np.float32), (size, size, 3)).copy()
    if style == "pattern":
        other = random_colour(rng)
        yy, xx = np.mgrid[:size, :size].astype(np.float32)
        period = rng.uniform(0.04, 0.12) * size
        kind = rng.integers(3)
        if kind == 0:  # stripes at any angle
            a = rng.uniform(0, np.pi)
            on = np.sin((xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / period) > 0
        elif kind == 1:  # checks
            on = ((xx // period + yy // period) % 2) == 0
        else:  # dots
            on = (np.hypot(xx % period - period / 2, yy % period - period / 2)) < period * rng.uniform(0.2, 0.4)
        image[on] = other
    noise = rng.normal(0.0, rng.uniform(2, 9), (size, size, 1)).astype(np.float32)
    return image + noise


def _shade(image: np.ndarray, crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light the texture like the face: the crop's brightness and a soft top-to-bottom gradient."""
    size = image.shape[0]
    brightness = np.clip(crop.mean() / 128.0, 0.45, 1.2)
    ramp = np.linspace(rng.uniform(0.85, 1.1), rng.uniform(0.7, 1.0), size, dtype=np.float32)[:, None, None]
    return image * brightness * ramp


def blend(crop: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`layer` over `crop` where `alpha` (0-1) says, as uint8."""
    a = alpha[..., None]
    return np.clip(crop.astype(np.float32) * (1 - a) + layer * a, 0, 255).astype(np.uint8)


def _span(face: FaceFrame, placement: str) -> tuple[float, float, float]:
    """The mask's top edge, its widest line and its bottom, in face units down from the eyes."""
    if placement == "below_nose":  # the top edge under the nose tip: the nostrils show
        return face.nose_y + 0.15, face.mouth_y + 0.15, face.chin_y + 0.2
    if placement == "chin":  # the top edge under the lower lip: mouth and nose bare
        return face.mouth_y + 0.18, face.chin_y, face.chin_y + 0.45
    return face.nose_y * 0.62, face.mouth_y + 0.1, face.chin_y + 0.12


def _mask_outline(face: FaceFrame, style: str, placement: str = "over_nose") -> np.ndarray:
    """The mask's outline in face units: nose bridge (just under the eyes) to under the chin, when worn right."""
    top, low, chin = _span(face, placement)
    if style == "n95":  # a rounded cup
        t = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        cy, ry = (top + chin) / 2, (chin - top) / 2
        return np.stack([[face.side(0.72 * np.sin(a)), cy - ry * np.cos(a)] for a in t])
    xs = (-0.75, -0.15, 0.0, 0.15, 0.75, 0.85, 0.5, 0.0, -0.5, -0.85)
    ys = (top + 0.12, top + 0.02, top, top + 0.02, top + 0.12, low, chin - 0.05, chin, chin - 0.05, low)
    return np.array([[face.side(x), y] for x, y in zip(xs, ys)], np.float32)


def _details(layer: np.ndarray, face: FaceFrame, style: str, placement: str = "over_nose") -> None:
    """Pleats on surgical masks, a seam on N95s, ear loops on both sides (drawn into `layer`)."""
    size = layer.shape[0]
    width = max(1, size // 64)
    dark = tuple(float(c) for c in layer[size // 2, size // 2] * 0.75)
    top, low, chin = _span(face, placement)
    if style == "surgical":
        for f in (0.3, 0.55, 0.8):
            y = top + f * (low - top)
            cv2.line(layer, *map(tuple, face.px([[face.side(-0.7), y], [face.side(0.7), y]])), dark, width)
    if style == "n95":
        cv2.line(layer, *map(tuple, face.px([[face.turn, top], [face.turn, chin - 0.12]])), dark, width)


def _loops(face: FaceFrame, rng: np.random.Generator, placement: str = "over_nose") -> list[np.ndarray]:
    """Ear loops or straps: thin bands from the mask's sides outwards, below the eyes."""
    top, low, _ = _span(face, placement)
    y0, y1 = top + 0.12, low
    loops = []
    for sign in (-1, 1):
        x = face.side(sign * 0.8)
        for y in (y0, y1) if rng.random() < 0.7 else (y0,):
            pts = face.px([[x, y], [x + sign * 0.6, y - 0.05], [x + sign * 0.6, y + 0.02], [x, y + 0.06]])
            loops.append(pts)
    return loops


def draw_mask(
    crop: np.ndarray,
    rng: np.random.Generator,
    landmarks: np.ndarray | None = None,
    style: str | None = None,
    placement: str = "over_nose",
) -> np.ndarray:
    """A copy of an unmasked RGB face crop wearing a synthetic mask of `style` (random when None) at `placement`."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    size = crop.shape[0]
    face = FaceFrame(jittered_landmarks(rng) if landmarks is None else landmarks, size)
    style = style or str(rng.choice(MASK_STYLES, p=(0.2, 0.25, 0.2, 0.2, 0.15)))
    layer = _shade(fabric(size, rng, style), crop, rng)
    _details(layer, face, style, placement)
    alpha = polygon_alpha(size, [face.px(_mask_outline(face, style, placement))]) * rng.uniform(0.93, 1.0)
    loop_alpha = polygon_alpha(size, _loops(face, rng, placement), feather=0.4) * 0.8
    return blend(crop, layer, np.maximum(alpha, loop_alpha))
