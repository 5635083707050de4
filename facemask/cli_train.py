"""Argument parsing for `train.py` / `facemask train`; the work happens in facemask.training."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from facemask.config import FACE_DETECTORS
from facemask.training import TrainConfig


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig(datasets=(Path("."),))
    p.add_argument(
        "--dataset",
        type=Path,
        action="append",
        required=True,
        help="folder with with_mask/ and without_mask/, or a VOC scene set (annotations/, images/); repeat to combine",
    )
    p.add_argument("--output", type=Path, default=d.output, help="run folder (model, plots, metrics)")
    p.add_argument("--arch", choices=("resnet50", "lite"), default=d.arch)
    p.add_argument(
        "--weights",
        default=d.weights,
        help="imagenet | none | PATH to backbone weights | PATH/best.keras of an earlier run to continue",
    )
    p.add_argument("--input-size", type=int, default=d.input_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--head-epochs", type=int, default=d.head_epochs, help="head-only epochs with pretrained weights")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.learning_rate)
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output")
    p.add_argument(
        "--finish-only",
        action="store_true",
        help="skip fitting: calibrate, report and export the best.keras already in --output",
    )
    p.add_argument("--quantize", choices=("auto", "int8", "dynamic", "float16"), default=d.quantize)
    p.add_argument("--no-ema", dest="ema", action="store_false", help="train without an EMA of the weights")
    p.add_argument("--cache-dir", type=Path, default=d.cache_dir, help="where face crops are cached")
    p.add_argument(
        "--crop-detector", choices=FACE_DETECTORS, default=d.crop_detector, help="face detector that cuts the crops"
    )
    p.add_argument("--teacher", help="distil this model (a shipped name such as default, or a path) into the new one")
    p.add_argument(
        "--teacher-weight", type=float, default=d.teacher_weight, help="share of the teacher's soft label (0-1)"
    )


def check_paths(a: argparse.Namespace) -> None:
    """Before minutes of cropping: the run folder is a folder outside every dataset, the cache is writable."""
    from facemask.errors import FacemaskError

    if a.output.exists() and not a.output.is_dir():
        raise FacemaskError(f"{a.output}: --output is a file; training writes a run folder")
    out = a.output.resolve()
    for root in a.dataset:
        root = root.resolve()
        if out == root or root in out.parents or out in root.parents:
            raise FacemaskError(f"{a.output}: --output overlaps the dataset {root}; pick a folder outside it")
    try:
        a.cache_dir.mkdir(parents=True, exist_ok=True)
        probe = a.cache_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FacemaskError(f"{a.cache_dir}: --cache-dir is not a writable folder ({exc.strerror})") from None


def config_from_args(a: argparse.Namespace) -> TrainConfig:
    check_paths(a)
    return TrainConfig(
        datasets=tuple(a.dataset),
        output=a.output,
        arch=a.arch,
        weights=a.weights,
        input_size=a.input_size,
        epochs=a.epochs,
        head_epochs=a.head_epochs,
        batch_size=a.batch_size,
        learning_rate=a.lr,
        patience=a.patience,
        seed=a.seed,
        resume=a.resume,
        overwrite=a.overwrite,
        finish_only=a.finish_only,
        quantize=a.quantize,
        cache_dir=a.cache_dir,
        ema=a.ema,
        crop_detector=a.crop_detector,
        teacher=a.teacher,
        teacher_weight=a.teacher_weight,
    )
