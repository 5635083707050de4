"""Reports and the model card: figures per test split, plots, and what a reader needs to trust the file."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.classification.crops import CROP_MARGIN
from facemask.core.errors import FacemaskError
from facemask.detection.res10 import FAST_AREA
from facemask.training.config import TrainConfig
from facemask.training.data import Pooled, Source
from facemask.training.dataset import (
    dataset_fingerprint,
)
from facemask.training.metrics import (
    calibration_report,
    classification_report,
    plot_confusion,
    plot_grid,
    plot_reliability,
    roc_auc,
)
from facemask.training.pretrained import pretraining_source
from facemask.training.run_folder import WallClock

# How each network scales raw 0-255 RGB itself (a Rescaling layer), as the card's preprocessing note says.
INPUT_SCALING = {"efficientnet-lite0": "(x - 127) / 128"}


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores, {cpu}, {platform.system()} {platform.release()}, no GPU"


def _report(name: str, probs: np.ndarray, y: np.ndarray, crops: np.ndarray, out: Path, names=LABELS) -> dict:
    """Figures, confusion matrix, reliability diagram (top label) and a grid for one test split."""
    no_mask = LABELS.index("no_mask")
    y_pred = probs.argmax(axis=1)
    report = classification_report(y, y_pred, names)
    report["roc_auc"] = round(roc_auc(y == no_mask, probs[:, no_mask]), 4)
    report["calibration"] = calibration_report(probs, y)
    if len(names) > len(LABELS):
        report["two_class"] = two_class_figures(probs, y)
    prefix = "" if name.startswith("folder") else "scenes_"
    plot_confusion(report["confusion_matrix"]["matrix"], names, out / f"{prefix}confusion_matrix.png", title=name)
    plot_reliability(probs, y, out / f"{prefix}reliability.png", title=name)
    grid = out / f"{prefix}test_grid.png"
    plot_grid(crops, y, y_pred, probs[:, LABELS.index("mask")], grid, labels=names, confidence=probs.max(axis=1))
    return report


def two_class_figures(probs: np.ndarray, y: np.ndarray) -> dict:
    """On the masked and unmasked faces of a multi-label model: the share labelled right among all labels
    (`accuracy`), and between mask and no_mask alone (`accuracy_between_two`)."""
    faces = y < len(LABELS)
    n = int(faces.sum())
    if n == 0:
        return {"n": 0, "accuracy": None, "accuracy_between_two": None}
    right = probs[faces].argmax(axis=1) == y[faces]
    right_of_two = probs[faces][:, : len(LABELS)].argmax(axis=1) == y[faces]
    return {
        "n": n,
        "accuracy": round(float(right.mean()), 4),
        "accuracy_between_two": round(float(right_of_two.mean()), 4),
    }


def report_tests(model, sources: list[Source], data: Pooled, out: Path) -> dict[str, dict]:
    """Figures and plots for each source's test split (an empty one is said, not scored)."""
    reports = {}
    for s, test_idx in zip(sources, data.tests):
        if len(test_idx) == 0:
            print(f"{s.name}: empty test split, nothing to report")
            continue
        probs = model.predict(data.crops[test_idx], batch_size=64, verbose=0)
        reports[s.name] = _report(s.name, probs, data.labels[test_idx], data.crops[test_idx], out, data.names)
        print(
            f"{s.name} test: accuracy {reports[s.name]['accuracy']:.4f}, "
            f"ECE {reports[s.name]['calibration']['ece']:.4f}"
        )
    if sources[0].name not in reports:
        raise FacemaskError(f"{sources[0].name}: too few images for a test split; add images or put this source later")
    return reports


def _distillation(cfg: TrainConfig) -> dict | None:
    if not cfg.teacher:
        return None
    unlabelled = [str(p) for p in cfg.unlabelled]
    note = "train split only; the teacher's calibrated P(mask) is their whole target" if unlabelled else None
    return {"teacher": cfg.teacher, "teacher_weight": cfg.teacher_weight, "unlabelled": unlabelled, "note": note}


def _synthetic(cfg: TrainConfig) -> dict | None:
    if cfg.synthetic_masks + cfg.hard_negatives + cfg.synthetic_incorrect == 0:
        return None
    drawn = {
        "synthetic_masks": cfg.synthetic_masks,
        "hard_negatives": cfg.hard_negatives,
        "note": "shares of labelled no-mask training crops, redrawn each epoch: a drawn mask (surgical, coloured, "
        "black, patterned, N95; relabelled mask) or a look-alike (hand, pacifier, beard, scarf; kept no_mask), "
        "placed from canonical landmarks of the square crop, jittered for scale, roll and turn",
    }
    if cfg.synthetic_incorrect:
        drawn["synthetic_incorrect"] = cfg.synthetic_incorrect
        drawn["note"] += "; or a mask worn below the nose (60 %) or on the chin (40 %), relabelled incorrect_mask"
    return drawn


def model_card(
    cfg: TrainConfig,
    sources: list[Source],
    reports: dict,
    temperature: float,
    clock: WallClock,
    decision: dict | None = None,
) -> dict:
    """Everything a reader needs to trust the exported file: preprocessing, data, split, recipe, figures.

    `decision`: for more than two labels, the fields that replace the two-label cut (classes.decision_fields).
    """
    history = history_from_logs(cfg.output)
    first = sources[0].name
    init, stages, pretraining = _lineage(cfg)
    scaling = INPUT_SCALING.get(cfg.arch, "x/127.5 - 1")
    stage = {
        "weights": cfg.weights,
        "input_size": cfg.input_size,
        "epochs_run": len(history.get("loss", [])),
        "learning_rate": cfg.learning_rate,
        "schedule": "AdamW (weight decay 1e-4), cosine decay after a 5 % linear warm-up, EMA 0.995, "
        f"label smoothing 0.05, batch {cfg.batch_size}, early stopping patience {cfg.patience}",
        "distillation": _distillation(cfg),
        "synthetic": _synthetic(cfg),
        "wall_time_s": round(clock.seconds),
    }
    stages = [*stages, stage]
    return {
        "architecture": cfg.arch,
        "input_size": cfg.input_size,
        "labels": list(LABELS),
        "threshold": 0.5,
        "threshold_meaning": "predict no_mask when P(no_mask) >= threshold; probabilities are temperature-calibrated",
        **(decision or {}),
        "calibration": {
            "method": "temperature scaling on the val split",
            "temperature": round(temperature, 4),
            "ece_test": {k: r["calibration"]["ece"] for k, r in reports.items()},
        },
        "preprocessing": {
            "color": "RGB",
            "scale": 1.0,
            "offset": 0.0,
            "crop_margin": CROP_MARGIN,
            "note": f"raw 0-255 RGB pixels; the model scales them itself ({scaling})",
            "crop": f"largest {cfg.crop_detector} face (fast mode, res10 at {FAST_AREA} px input, cut 0.5), "
            "square, +15% margin each side; whole image if none",
        },
        "weights_init": init,
        "pretraining": pretraining,
        "datasets": _dataset_entries(sources),
        "split": {
            "seed": cfg.seed,
            "folders": "stratified 80/10/10; sha256 + 64-bit DCT perceptual hash (Hamming <= 6) "
            "groups kept on one side",
            "scenes": "by scene 40/10/50, near-duplicate scenes together",
        },
        "training": {
            "epochs_run": sum(s["epochs_run"] for s in stages),
            "wall_time_s": sum(s["wall_time_s"] for s in stages),
            "stages": stages,
            "machine": machine_description(),
            "config": {k: str(v) for k, v in asdict(cfg).items()},
        },
        "test_split": first,
        "test_metrics_keras_float32": reports[first],
        "test_metrics_by_source_keras_float32": reports,
    }


def _dataset_entries(sources: list[Source]) -> list[dict]:
    """Each source on the card: its fingerprint, crop count and split, so a reader can tell what trained it."""
    return [
        {
            "name": s.name,
            "sha256": dataset_fingerprint(s.data.samples, s.root)
            if s.name.startswith("folder")
            else s.split_doc["sha256"],
            "n_crops": len(s.data.samples),
            "n_skipped": len(s.data.skipped),
            "split_sha256": s.split_doc["sha256"],
            "split_sizes": {k: len(v) for k, v in s.split.items()},
        }
        for s in sources
    ]


def _lineage(cfg: TrainConfig) -> tuple[str, list[dict], dict | None]:
    """Where the weights began (init, stages, pretraining source): a run continued from an earlier run's
    best.keras inherits all three."""
    base = Path(cfg.weights).parent / "card_base.json"
    if cfg.weights.endswith(".keras") and base.is_file():
        try:
            earlier = json.loads(base.read_text())
            return earlier["weights_init"], earlier["training"].get("stages", []), earlier.get("pretraining")
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise FacemaskError(f"{base}: unreadable or incomplete ({type(exc).__name__}: {exc})") from None
    return cfg.weights, [], pretraining_source(cfg.arch, cfg.weights)


def history_from_logs(out: Path) -> dict[str, list[float]]:
    """Per-epoch metrics from the CSV logs, which span interrupted and resumed runs."""
    import csv

    history: dict[str, list[float]] = {}
    for stage in ("head", "finetune", "full"):
        path = out / f"log_{stage}.csv"
        if path.is_file():
            for row in csv.DictReader(path.open()):
                for key, value in row.items():
                    if key != "epoch":
                        history.setdefault(key, []).append(float(value))
    return history
