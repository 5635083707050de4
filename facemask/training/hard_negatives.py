"""Look-alikes of a mask drawn on unmasked faces, which stay "no mask": hands, pacifiers, beards, scarves.

Beards, hands over the mouth and pacifiers were read as masks on outside photos; a scarf below the
chin is the look-alike the issue names too. Each covers part of the lower face but leaves the nose
(hands, pacifiers) or the mouth region's skin tone (beards) or everything above the chin (scarves)
as no mask leaves it. Grayscale portraits are the fourth error: augment.per_image turns crops of
both classes gray, so gray alone never means mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from facemask.training.synthetic_masks import (
    FaceFrame,
    blend,
    fabric,
    jittered_landmarks,
    polygon_alpha,
    random_colour,
)

NEGATIVE_KINDS = ("hand", "pacifier", "beard", "scarf")


def _ellipse(face: FaceFrame, centre: tuple[float, float], axes: tuple[float, float], angle: float) -> np.ndarray:
    """An ellipse in face units as a pixel polygon."""
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    x, y = axes[0] * np.cos(t), axes[1] * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return face.px(np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1))


def _skin(crop: np.ndarray, face: FaceFrame, rng: np.random.Generator) -> np.ndarray:
    """The face's own cheek colour, a little changed: a hand over the mouth is skin, like the face."""
    size = crop.shape[0]
    patches = []
    for x, y in face.px([[face.side(-0.5), face.nose_y], [face.side(0.5), face.nose_y]]):
        x, y = int(np.clip(x, 1, size - 2)), int(np.clip(y, 1, size - 2))
        patches.append(crop[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3))
    return np.median(np.concatenate(patches), axis=0).astype(np.float32) + rng.normal(0, 12, 3)


def _hand(crop: np.ndarray, face: FaceFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fingers across mouth and chin from one side, the palm beyond the cheek; the nose stays bare."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    tilt = rng.uniform(-0.35, 0.35)
    y0 = face.nose_y + rng.uniform(0.2, 0.35)
    parts = [_ellipse(face, (face.side(sign * 1.15), y0 + 0.35), (0.4, 0.5), tilt)]
    for k in range(4):
        length = rng.uniform(0.6, 0.8) - 0.08 * abs(k - 1.2)
        parts.append(_ellipse(face, (face.side(sign * (1.1 - length)), y0 + 0.19 * k), (length, 0.11), tilt))
    size = crop.shape[0]
    alpha = polygon_alpha(size, parts)
    alpha *= 1.0 - polygon_alpha(
        size, [face.px([[-9, -9], [9, -9], [9, face.nose_y + 0.12], [-9, face.nose_y + 0.12]])]
    )
    layer = np.broadcast_to(_skin(crop, face, rng), crop.shape).astype(np.float32)
    layer = layer * np.linspace(1.05, 0.85, size, dtype=np.float32)[:, None, None]
    return layer + rng.normal(0, 3, crop.shape).astype(np.float32), alpha


def _pacifier(crop: np.ndarray, face: FaceFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A coloured shield on the lips with a ring: small, saturated, over the mouth only."""
    size = crop.shape[0]
    centre = (face.turn * 0.8, face.mouth_y)
    alpha = polygon_alpha(size, [_ellipse(face, centre, (0.3, 0.18), rng.uniform(-0.2, 0.2))])
    layer = np.broadcast_to(random_colour(rng), crop.shape).astype(np.float32).copy()
    ring = tuple(float(c) for c in random_colour(rng))
    cx, cy = face.px([centre])[0]
    cv2.circle(layer, (int(cx), int(cy)), max(2, int(0.12 * face.unit)), ring, max(1, size // 48))
    ring_alpha = np.zeros_like(alpha)
    cv2.circle(ring_alpha, (int(cx), int(cy)), max(2, int(0.12 * face.unit)), 1.0, max(1, size // 48))
    return layer, np.maximum(alpha, ring_alpha)


def _beard(crop: np.ndarray, face: FaceFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A dark hair texture along the jaw and above the lip, the lips themselves left bare."""
    size = crop.shape[0]
    jaw = [
        [face.side(-0.85), face.nose_y + 0.05],
        [face.side(-0.8), face.mouth_y + 0.1],
        [face.side(-0.45), face.chin_y + 0.05],
        [face.turn, face.chin_y + 0.12],
        [face.side(0.45), face.chin_y + 0.05],
        [face.side(0.8), face.mouth_y + 0.1],
        [face.side(0.85), face.nose_y + 0.05],
        [face.side(0.45), face.mouth_y - 0.1],
        [face.side(-0.45), face.mouth_y - 0.1],
    ]
    region = polygon_alpha(size, [face.px(jaw)])
    region = np.maximum(region, polygon_alpha(size, [_ellipse(face, (face.turn, face.nose_y + 0.2), (0.4, 0.08), 0)]))
    region *= 1.0 - polygon_alpha(size, [_ellipse(face, (face.turn * 0.7, face.mouth_y), (0.33, 0.09), 0)])
    strokes = np.zeros((size, size), np.float32)
    ys, xs = np.nonzero(region > 0.5)
    if len(xs):
        for i in rng.integers(0, len(xs), int(len(xs) * rng.uniform(0.3, 0.8))):
            dx, dy = rng.normal(0, 0.3), 1.0
            length = rng.uniform(0.02, 0.05) * size
            end = (int(xs[i] + dx * length), int(ys[i] + dy * length))
            cv2.line(strokes, (int(xs[i]), int(ys[i])), end, 1.0, 1, cv2.LINE_AA)
    density = rng.uniform(0.35, 0.7)
    alpha = region * np.clip(density + (1 - density) * strokes * rng.uniform(0.5, 1.0), 0, 1)
    hair = np.array([rng.uniform(15, 70)] * 3, np.float32) * np.array([1.0, 0.85, 0.7], np.float32)
    return np.broadcast_to(hair, crop.shape).astype(np.float32), cv2.GaussianBlur(alpha, (0, 0), 0.5)


def _scarf(crop: np.ndarray, face: FaceFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A scarf or collar below the chin, down to the crop's edge: fabric, but not over the mouth."""
    size = crop.shape[0]
    top = face.chin_y + rng.uniform(-0.05, 0.1)
    band = [[face.side(-1.6), top + 0.1], [face.turn, top], [face.side(1.6), top + 0.1], [1.6, 9], [-1.6, 9]]
    style = "pattern" if rng.random() < 0.5 else "colour"
    return fabric(size, rng, style), polygon_alpha(size, [face.px(band)])


def draw_hard_negative(
    crop: np.ndarray, rng: np.random.Generator, landmarks: np.ndarray | None = None, kind: str | None = None
) -> np.ndarray:
    """A copy of an unmasked RGB face crop with a look-alike of `kind` (random when None); still no mask."""
    face = FaceFrame(jittered_landmarks(rng) if landmarks is None else landmarks, crop.shape[0])
    kind = kind or str(rng.choice(NEGATIVE_KINDS, p=(0.35, 0.15, 0.35, 0.15)))
    draw = {"hand": _hand, "pacifier": _pacifier, "beard": _beard, "scarf": _scarf}[kind]
    layer, alpha = draw(crop, face, rng)
    return blend(crop, layer, alpha)
