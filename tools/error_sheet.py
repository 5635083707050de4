"""A contact sheet of what a mask classifier still gets wrong on the held-out scene crops, for anyone to look at.

    python tools/error_sheet.py [--model default] [--cache-dir DIR] [--out docs/models/errors_scenes_test.png]

The crops and split are score_classifier's (the test half of the scenes, cut by the default face detector).
Each tile is one wrong face, scaled up, with the annotation's label and the model's P(mask) under it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from score_classifier import SHARED, predictions, sources_for

from facemask import LABELS
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
TILE, COLS = 128, 10


def tile(crop_rgb: np.ndarray, truth: str, p_mask: float) -> np.ndarray:
    """One wrong face: the crop at TILE px, its true label and the model's P(mask) under it."""
    out = cv2.resize(cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR), (TILE, TILE), interpolation=cv2.INTER_CUBIC)
    text = f"{'mask' if truth == 'mask' else 'no mask'} p{p_mask:.2f}"
    for color, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, (3, TILE - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, width)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--cache-dir", type=Path, default=TrainConfig(datasets=()).cache_dir)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "models" / "errors_scenes_test.png")
    a = ap.parse_args()
    clf = MaskClassifier(ClassifierConfig(model=a.model))
    sources = sources_for(clf, SHARED / "mask-classification", SHARED / "mask-detection", a.cache_dir, {})
    scenes = next(per_size for per_size in sources if per_size[0].name.startswith("scenes"))
    p_mask, y, xs = predictions(clf, scenes, "test")
    predicted = np.array([LABELS.index(label) for label in clf.labels_for(p_mask)])
    wrong = np.flatnonzero(predicted != y)
    tiles = [tile(xs[0][i], LABELS[y[i]], float(p_mask[i])) for i in wrong]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % COLS) if tiles else []
    rows = [np.hstack(tiles[r : r + COLS]) for r in range(0, len(tiles), COLS)]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), np.vstack(rows) if rows else np.zeros((TILE, TILE * COLS, 3), np.uint8))
    print(f"{len(wrong)} of {len(y)} held-out scene faces wrong: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
