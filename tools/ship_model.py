"""Copy a training run's exported model into facemask/models/ (package data) under its shipped name, card and all.

usage: python tools/ship_model.py runs/resnet50 mask_resnet50
Only the TFLite file and its card JSON are shipped: never checkpoints or Keras models.
A shipped member of the default mean (facemask/models/mask_default.json lists them: resnet50, lite112,
lite128) needs the mean refitted afterwards with tools/fit_mean.py (docs/models.md has the command).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from facemask.training.export import write_card

REPO = Path(__file__).resolve().parents[1]


def main(run: Path, name: str) -> None:
    src = run / "model.tflite"
    dest = REPO / "facemask" / "models" / f"{name}.tflite"
    dest.parent.mkdir(exist_ok=True)
    shutil.copyfile(src, dest)
    card = json.loads(src.with_suffix(".json").read_text())
    card["training"]["config"].pop("cache_dir", None)  # a path on the training machine
    card["run_metrics"] = json.loads((run / "metrics.json").read_text())
    card["run_metrics"].pop("skipped", None)
    path = write_card(dest, card)
    print(f"shipped {dest} ({dest.stat().st_size} bytes) with {path}")
    print(
        "if it is a member of facemask/models/mask_default.json, refit that mean: "
        "python tools/fit_mean.py --member resnet50 --member lite112 --member lite128 "
        "--out facemask/models/mask_default.json"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
