"""Which images are the same photo: content hashes, perceptual hashes and the duplicate groups they make.

Both the labelled-folder loader (dataset.py) and the scene split (voc.py) group duplicates so
a split never puts one photo on both sides; the hashing lives here, below both, so neither has
to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass
class Sample:
    path: Path
    label: int  # index into LABELS
    sha256: str
    phash: int


def perceptual_hash(image_bgr: np.ndarray) -> int:
    """64-bit DCT hash: equal or close for the same photo resized or re-encoded."""
    gray = cv2.resize(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(gray.astype(np.float32))[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def duplicate_groups(samples: list[Sample], max_distance: int = 6) -> np.ndarray:
    """Group id per sample: byte-identical files and perceptual near-duplicates share a group."""
    n = len(samples)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_sha: dict[str, int] = {}
    for i, s in enumerate(samples):
        if s.sha256 in by_sha:
            union(i, by_sha[s.sha256])
        by_sha.setdefault(s.sha256, i)
    hashes = np.array([s.phash for s in samples], dtype=np.uint64)
    popcount = np.array([bin(i).count("1") for i in range(256)], np.uint8)
    for i in range(n - 1):
        x = (hashes[i + 1 :] ^ hashes[i]).view(np.uint8).reshape(-1, 8)
        close = np.nonzero(popcount[x].sum(axis=1) <= max_distance)[0]
        for j in close:
            union(i, i + 1 + int(j))
    return np.array([find(i) for i in range(n)])
