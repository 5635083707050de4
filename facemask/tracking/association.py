"""The tracker's matching scores and the greedy matcher its association passes share."""

from __future__ import annotations

import numpy as np

SIZE_RATIO = 1.4  # faces matched by distance may differ in size by at most this factor


def centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)


def greedy_match(score: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(row, col) pairs, highest score first, each row and column used once, score >= threshold."""
    rows, cols = np.nonzero(score >= threshold)
    order = np.argsort(-score[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


def closeness(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minus the centre distance in face sizes (mean side of the two boxes); -inf when the sizes differ too much."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    side_a = np.sqrt(np.maximum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1e-6))
    side_b = np.sqrt(np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-6))
    ca = (a[:, :2] + a[:, 2:]) / 2
    cb = (b[:, :2] + b[:, 2:]) / 2
    dist = np.linalg.norm(ca[:, None, :] - cb[None, :, :], axis=2) / ((side_a[:, None] + side_b[None, :]) / 2)
    ratio = np.maximum(side_a[:, None] / side_b[None, :], side_b[None, :] / side_a[:, None])
    return np.where(ratio <= SIZE_RATIO, -dist, -np.inf)
