"""Score a mask classifier on the held-out test splits training reports: the de-duplicated folder split
and the face crops of the held-out scenes (by-scene split). Same crops, same splits as `train.py`.

    python tools/score_classifier.py --model default [--model lite ...] [--json docs/bench/classifier.json]
        [--folder ../shared/data/mask-classification] [--scenes ../shared/data/mask-detection]

Accuracy, per-class figures and expected calibration error, read through the runtime detection uses
(LiteRT or Keras, preprocessing from the card), plus ms per face. The cut is the card's threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classifier import MaskClassifier
from facemask.config import ClassifierConfig
from facemask.errors import FacemaskError
from facemask.metrics import calibration_report, classification_report
from facemask.training import TrainConfig, load_sources

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def score(model: str, sources: list) -> dict:
    clf = MaskClassifier(ClassifierConfig(model=model))
    out = {"model": model, "input_size": clf.card.input_size, "threshold": clf.card.threshold}
    for s in sources:
        idx = np.asarray(s.split["test"], np.int64)
        x, y = s.data.crops[idx], np.array([s.data.samples[i].label for i in idx])
        p_mask = np.concatenate([clf.predict_crops(x[i : i + 64]) for i in range(0, len(x), 64)])
        p_no = 1 - p_mask
        y_pred = np.where(p_no >= clf.card.threshold, LABELS.index("no_mask"), LABELS.index("mask"))
        probs = np.stack([p_mask, p_no], axis=1)  # columns in LABELS order: mask, no_mask
        report = classification_report(y, y_pred)
        report["calibration_ece"] = calibration_report(probs, y)["ece"]
        out[s.name] = report
    t0 = time.perf_counter()
    for crop in x[:50]:
        clf.predict_crops(crop[None])
    out["ms_per_face"] = round(1000 * (time.perf_counter() - t0) / min(50, len(x)), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="default, lite or a path; repeatable")
    parser.add_argument("--folder", type=Path, default=SHARED / "mask-classification")
    parser.add_argument("--scenes", type=Path, default=SHARED / "mask-detection")
    parser.add_argument("--cache-dir", type=Path, default=TrainConfig(datasets=()).cache_dir)
    parser.add_argument("--json", type=Path, default=None)
    a = parser.parse_args(argv)
    results = []
    try:
        by_size: dict[int, list] = {}
        for model in a.model:
            size = MaskClassifier(ClassifierConfig(model=model)).card.input_size
            if size not in by_size:
                cfg = TrainConfig(datasets=(a.folder, a.scenes), input_size=size, cache_dir=a.cache_dir)
                by_size[size] = load_sources(cfg)
            results.append(score(model, by_size[size]))
    except FacemaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in results:
        figures = ", ".join(
            f"{k} {v['accuracy']:.4f} (n {v['n']}, ECE {v['calibration_ece']})"
            for k, v in r.items()
            if isinstance(v, dict)
        )
        print(f"{r['model']}: {figures}; {r['ms_per_face']} ms/face")
    if a.json:
        a.json.write_text(
            json.dumps(
                {"split": "test splits of train.py (folder de-duplicated; scenes by scene)", "results": results},
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
