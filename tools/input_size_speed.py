"""Per-face latency of the ResNet50 classifier at several input sizes, int8 in LiteRT.

Weights are random (speed does not depend on them); the model goes through the project's
own export path and runtime. usage: python tools/input_size_speed.py [--sizes 96 128 160 224]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.evaluation.provenance import code_provenance
from facemask.training.export import convert, write_card
from facemask.training.model import build_resnet50


def latency_ms(size: int, workdir: Path, repeats: int = 60) -> float:
    keras_path = workdir / f"r{size}.keras"
    build_resnet50(size, "none")[0].save(keras_path)
    calib = np.random.default_rng(0).integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    tflite = convert(keras_path, "int8", calib, workdir / f"r{size}.tflite")
    write_card(tflite, {"input_size": size, "labels": list(LABELS), "threshold": 0.5})
    clf = MaskClassifier(ClassifierConfig(model=str(tflite)))
    crop = calib[:1]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        clf.predict_crops(crop)
        times.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(times[10:])), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[96, 128, 160, 224])
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {str(s): latency_ms(s, Path(tmp)) for s in a.sizes}
    print(json.dumps({"resnet50_int8_ms_per_face": result}))
    if a.json:
        a.json.write_text(json.dumps({"resnet50_int8_ms_per_face": result, **code_provenance(__file__)}, indent=1))


if __name__ == "__main__":
    main()
