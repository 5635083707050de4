"""Score a mask classifier on the held-out test splits training reports: the de-duplicated folder split
and the face crops of the held-out scenes (by-scene split). Same crops, same splits as `train.py`.

    python tools/score_classifier.py --model default [--model resnet50 --model lite ...] [--json FILE]
        [--folder ../shared/data/mask-classification] [--scenes ../shared/data/mask-detection]

Accuracy, per-class figures and expected calibration error, read through the runtime detection uses
(LiteRT or Keras, preprocessing from the card), plus ms per face. The cut is the card's threshold, or
0.5 for a mean card such as `default` (resnet50, lite and lite128).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.labels import argmax_labels, face_probs
from facemask.evaluation.provenance import code_provenance
from facemask.training.config import TrainConfig
from facemask.training.data import crop_detector, load_sources
from facemask.training.metrics import calibration_report, classification_report

TIMED_FACES = 300
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def sources_for(clf: MaskClassifier, folder: Path, scenes: Path, cache_dir: Path, memo: dict) -> list[list]:
    """Per dataset, its sources at each of the classifier's input sizes (one per model), loaded once per size."""
    sizes = [m.card.input_size for m in clf.models]
    for size in set(sizes) - memo.keys():
        cfg = TrainConfig(datasets=(folder, scenes), input_size=size, cache_dir=cache_dir)
        memo[size] = load_sources(cfg, *crop_detector(cfg))
    return [list(per_size) for per_size in zip(*(memo[size] for size in sizes))]


def predictions(clf: MaskClassifier, per_size: list, split: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """P(mask) and true labels on one split of one dataset, and the crops (one array per model)."""
    idx = np.asarray(per_size[0].split[split], np.int64)
    samples = [[(s.data.samples[i].path, s.data.samples[i].label) for i in idx] for s in per_size]
    if any(other != samples[0] for other in samples[1:]):
        raise FacemaskError(f"{per_size[0].name}: the {split} split differs between input sizes")
    xs = [s.data.crops[idx] for s in per_size]
    p_mask = np.concatenate([clf.predict_crops(*(x[i : i + 64] for x in xs)) for i in range(0, len(idx), 64)])
    return p_mask, np.array([label for _, label in samples[0]]), xs


def read_labels(clf: MaskClassifier, p_mask: np.ndarray, xs: list[np.ndarray]) -> np.ndarray:
    """The label each crop reads, as `mask` or `no_mask`: a model with a third label decides by argmax over its
    face labels (as inference does), and a mask worn wrong counts as no mask (not compliant, the alert's side)."""
    if not clf.multi_class:
        return clf.labels_for(p_mask)
    model = clf.models[0]
    class_prob, _ = face_probs(
        np.concatenate([model.predict_probs(x) for x in np.array_split(xs[0], 32)]), model.card.labels
    )
    read = argmax_labels(class_prob)
    return np.where(read == "mask", "mask", "no_mask")


def score(model: str, clf: MaskClassifier, sources: list[list]) -> dict:
    """One model on every dataset's test split; each model of a mean gets its own size of crop."""
    sizes = [m.card.input_size for m in clf.models]
    out = {"model": model, "file": clf.name, "input_size": sizes, "threshold": clf.threshold}
    for per_size in sources:
        p_mask, y, xs = predictions(clf, per_size, "test")
        y_pred = np.array([LABELS.index(label) for label in read_labels(clf, p_mask, xs)])
        probs = np.stack([p_mask, 1 - p_mask], axis=1)  # columns in LABELS order: mask, no_mask
        report = classification_report(y, y_pred)
        report["calibration_ece"] = calibration_report(probs, y)["ece"]
        out[per_size[0].name] = report
    times = []  # one face a call, as a one-face frame runs; the median, since a shared machine has spikes
    for i in range(min(TIMED_FACES, len(xs[0]))):
        t0 = time.perf_counter()
        clf.predict_crops(*(x[i : i + 1] for x in xs))
        times.append(time.perf_counter() - t0)
    out["ms_per_face"] = round(1000 * float(np.median(times)), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="default, resnet50, lite or a path; repeatable")
    parser.add_argument("--folder", type=Path, default=SHARED / "mask-classification")
    parser.add_argument("--scenes", type=Path, default=SHARED / "mask-detection")
    parser.add_argument("--cache-dir", type=Path, default=TrainConfig(datasets=()).cache_dir)
    parser.add_argument("--json", type=Path, default=None)
    a = parser.parse_args(argv)
    results = []
    try:
        memo: dict[int, list] = {}
        for model in a.model:
            clf = MaskClassifier(ClassifierConfig(model=model))
            results.append(score(model, clf, sources_for(clf, a.folder, a.scenes, a.cache_dir, memo)))
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
                {
                    "split": "test splits of train.py (folder de-duplicated; scenes by scene)",
                    "results": results,
                    **code_provenance(__file__),
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
