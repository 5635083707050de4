"""Fit a mean card: several shipped or trained models averaged, with the temperature fitted on val.

    python tools/fit_mean.py --member resnet50 --member lite --member lite128 \
        --out facemask/models/mask_default.json

Each member's P(mask) is centred on its own cut and the members' logits are averaged. The one free
number, the temperature, is fitted on the validation splits of the folder and the scenes (the same
splits `train.py` holds out), so the shown confidence is calibrated. The test splits are then scored
and written into the card, with the member files' SHA-256 so a retrained member cannot slip in unfitted.
The card must sit in the members' folder (they are named relative to it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from score_classifier import SHARED, predictions, score, sources_for

from facemask import LABELS
from facemask.classification.card import read_card, resolve_model
from facemask.classification.classifier import MaskClassifier
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.io.safeio import write_text
from facemask.training.config import TrainConfig
from facemask.training.metrics import fit_temperature


def card(members: list[Path], temperature: float, **extra) -> dict:
    return {
        "kind": "mean",
        "members": [{"file": m.name, "sha256": read_card(m).get("model_sha256", "")} for m in members],
        "combine": "mean of the members' logits of P(mask), each centred on its own threshold, over temperature",
        "temperature": temperature,
        "threshold": 0.5,
        "labels": list(LABELS),
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--member", action="append", required=True, help="shipped name or model path; repeat")
    parser.add_argument("--out", type=Path, required=True, help="the mean card to write, in the members' folder")
    parser.add_argument("--folder", type=Path, default=SHARED / "mask-classification")
    parser.add_argument("--scenes", type=Path, default=SHARED / "mask-detection")
    parser.add_argument("--cache-dir", type=Path, default=TrainConfig(datasets=()).cache_dir)
    a = parser.parse_args(argv)
    try:
        members = [resolve_model(m) for m in a.member]
        if any(m.parent.resolve() != a.out.parent.resolve() or m.suffix == ".json" for m in members):
            raise FacemaskError(f"{a.out}: members must be .tflite/.keras models in the card's own folder")
        write_text(a.out, json.dumps(card(members, 1.0), indent=1))
        clf = MaskClassifier(ClassifierConfig(model=str(a.out)))
        sources = sources_for(clf, a.folder, a.scenes, a.cache_dir, {})
        val = [predictions(clf, per_size, "val")[:2] for per_size in sources]
        p_mask = np.concatenate([p for p, _ in val])
        y = np.concatenate([y for _, y in val])
        clf.temperature = temperature = fit_temperature(np.stack([p_mask, 1 - p_mask], axis=1), y)
        tested = score(str(a.out), clf, sources)  # as the card written below will load
    except FacemaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fitted_on = {per_size[0].name: len(per_size[0].split["val"]) for per_size in sources}
    test = {k: v for k, v in tested.items() if isinstance(v, dict)}
    write_text(
        a.out,
        json.dumps(card(members, temperature, temperature_fitted_on_val=fitted_on, test_metrics=test), indent=1),
    )
    figures = ", ".join(f"{k} {v['accuracy']:.4f} (ECE {v['calibration_ece']})" for k, v in test.items())
    print(f"{a.out}: temperature {temperature:.3f} (val n {sum(fitted_on.values())}); test: {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
