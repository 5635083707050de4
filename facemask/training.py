"""Train a mask classifier from a folder, the way the Keras examples read: top to bottom.

load and crop -> de-duplicated split -> augment -> build -> fit with checkpoints ->
pick the threshold on val -> report on test -> export TFLite with its card.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.config import DetectorConfig
from facemask.crops import CROP_MARGIN
from facemask.dataset import dataset_fingerprint, duplicate_groups, load_dataset, split_document, split_groups
from facemask.detector import FAST_AREA, FaceDetector
from facemask.errors import FacemaskError
from facemask.metrics import best_threshold, classification_report, plot_confusion, plot_grid, plot_history, roc_auc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    dataset: Path
    output: Path = Path("runs/train")
    arch: str = "resnet50"
    weights: str = "imagenet"
    input_size: int = 128
    epochs: int = 14
    head_epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 6
    seed: int = 42
    resume: bool = False
    quantize: str = "auto"
    cache_dir: Path = Path.home() / ".cache" / "facemask"

    def __post_init__(self) -> None:
        if self.arch not in ("resnet50", "lite"):
            raise FacemaskError(f"--arch must be resnet50 or lite, got {self.arch!r}")
        if self.input_size < 32:
            raise FacemaskError(f"--input-size must be at least 32, got {self.input_size}")
        if self.quantize not in ("auto", "int8", "float16"):
            raise FacemaskError(f"--quantize must be auto, int8 or float16, got {self.quantize!r}")


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


def _datasets(cfg: TrainConfig, crops: np.ndarray, labels: np.ndarray, split: dict[str, list[int]]):
    import tensorflow as tf

    from facemask.augment import degrade, geometric_and_colour

    def make(name: str, training: bool):
        idx = np.array(split[name])
        onehot = np.eye(len(LABELS), dtype=np.float32)[labels[idx]]
        ds = tf.data.Dataset.from_tensor_slices((crops[idx], onehot))
        if training:
            ds = ds.shuffle(len(idx), seed=cfg.seed, reshuffle_each_iteration=True).map(
                lambda x, y: (degrade(x), y), num_parallel_calls=tf.data.AUTOTUNE
            )
        ds = ds.batch(cfg.batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
        if training:
            augment = geometric_and_colour(cfg.seed)
            ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    return make("train", True), make("val", False)


def _build(cfg: TrainConfig):
    """(model, backbone); backbone is None when every layer trains in one stage."""
    from facemask.model import build_lite, build_resnet50, load_for_finetuning

    if cfg.weights.endswith(".keras"):
        return load_for_finetuning(Path(cfg.weights), cfg.input_size), None
    if cfg.arch == "lite":
        return build_lite(cfg.input_size), None
    return build_resnet50(cfg.input_size, cfg.weights)


def _compile(model, cfg: TrainConfig, steps: int, lr: float) -> None:
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, steps), warmup_target=lr, warmup_steps=max(1, steps // 20)
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.05),
        metrics=["accuracy"],
    )


class WallClock:
    """Training time summed over interrupted and resumed runs, saved after every epoch."""

    def __init__(self, out: Path, resume: bool) -> None:
        self.path = out / "wall_time.json"
        self.before = json.loads(self.path.read_text())["seconds"] if resume and self.path.is_file() else 0.0
        self.started = time.time()

    @property
    def seconds(self) -> float:
        return self.before + time.time() - self.started

    def save(self) -> None:
        self.path.write_text(json.dumps({"seconds": round(self.seconds, 1)}))


def _fit(model, cfg: TrainConfig, train_ds, val_ds, epochs: int, lr: float, stage: str, clock: WallClock) -> None:
    import keras

    steps = epochs * int(train_ds.cardinality())
    _compile(model, cfg, steps, lr)
    out = cfg.output
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup" / stage)),
        keras.callbacks.ModelCheckpoint(str(out / "best.keras"), monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience),
        keras.callbacks.CSVLogger(str(out / f"log_{stage}.csv"), append=cfg.resume),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: clock.save()),
    ]
    verbose = 1 if sys.stdout.isatty() else 2
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose)


def train(cfg: TrainConfig) -> dict:
    """Run the whole recipe; returns the metrics document also written to `metrics.json`."""
    import keras

    from facemask.export import export_and_check

    out = cfg.output
    if out.exists() and not cfg.resume:
        shutil.rmtree(out / "backup", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    clock = WallClock(out, cfg.resume)
    keras.utils.set_random_seed(cfg.seed)

    # 1. Load every image once and crop it exactly as inference would.
    detector_cfg = DetectorConfig(mode="fast", confidence=0.5)
    detector = FaceDetector(detector_cfg)
    # Crops depend on the detector's settings too, so they are part of the cache's name.
    crop_key = hashlib.sha256(f"{detector_cfg}|{FAST_AREA}|{CROP_MARGIN}".encode()).hexdigest()[:10]
    cache = cfg.cache_dir / f"crops_{cfg.input_size}_{crop_key}.npz"
    data = load_dataset(cfg.dataset, cfg.input_size, detector.detect, cache)
    labels = np.array([s.label for s in data.samples])
    (out / "skipped.txt").write_text("".join(f"{p}\t{why}\n" for p, why in data.skipped))
    for path, why in data.skipped:
        print(f"skipped: {path} ({why})")
    print(f"{len(data.samples)} images, {len(data.skipped)} skipped, faces found in {data.face_found.mean():.0%}")

    # 2. Split so that no duplicate or near-duplicate straddles train/val/test.
    groups = duplicate_groups(data.samples)
    split = split_groups(data.samples, groups, seed=cfg.seed)
    split_doc = split_document(data.samples, split, cfg.dataset, cfg.seed)
    (out / "split.json").write_text(json.dumps(split_doc, indent=1))
    print("split: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()) + f" ({len(set(groups))} duplicate groups)")

    # 3. Build and fit; pretrained weights train the head first, then the top blocks.
    train_ds, val_ds = _datasets(cfg, data.crops, labels, split)
    model, backbone = _build(cfg)
    if backbone is not None and cfg.weights != "none":  # pretrained backbone: head first
        backbone.trainable = False
        _fit(model, cfg, train_ds, val_ds, cfg.head_epochs, cfg.learning_rate, "head", clock)
        backbone.trainable = True
        for layer in backbone.layers:
            layer.trainable = layer.name.startswith("conv5_")
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate / 10, "finetune", clock)
    else:
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate, "full", clock)
    train_seconds = clock.seconds
    history = history_from_logs(out)
    plot_history(history, out / "curves.png")

    # 4. Threshold on val, figures on test, from the best checkpoint.
    best = keras.models.load_model(out / "best.keras", compile=False)
    p_mask = {k: best.predict(data.crops[split[k]], batch_size=64, verbose=0)[:, LABELS.index("mask")] for k in ("val", "test")}
    y = {k: labels[split[k]] for k in ("val", "test")}
    no_mask = LABELS.index("no_mask")
    threshold = best_threshold(y["val"] == no_mask, 1 - p_mask["val"])
    y_pred = np.where(1 - p_mask["test"] >= threshold, no_mask, 1 - no_mask)
    report = classification_report(y["test"], y_pred)
    report["roc_auc"] = round(roc_auc(y["test"] == no_mask, 1 - p_mask["test"]), 4)
    report["threshold"] = threshold
    plot_confusion(report["confusion_matrix"]["matrix"], LABELS, out / "confusion_matrix.png")
    plot_grid(data.crops[split["test"]], y["test"], y_pred, p_mask["test"], out / "test_grid.png")

    card = {
        "architecture": cfg.arch,
        "input_size": cfg.input_size,
        "labels": list(LABELS),
        "threshold": threshold,
        "threshold_meaning": "predict no_mask when P(no_mask) >= threshold (chosen on the val split)",
        "preprocessing": {"color": "RGB", "scale": 1.0, "offset": 0.0, "crop_margin": CROP_MARGIN,
                          "note": "raw 0-255 RGB pixels; the model scales them itself (x/127.5 - 1)",
                          "crop": f"largest res10 SSD face (fast mode, {FAST_AREA} px input, conf 0.5), square, "
                                  "+15% margin each side; whole image if none"},
        "weights_init": cfg.weights,
        "dataset": {"path_name": cfg.dataset.name, "sha256": dataset_fingerprint(data.samples, cfg.dataset),
                    "n_images": len(data.samples), "n_skipped": len(data.skipped)},
        "split": {"sha256": split_doc["sha256"], "seed": cfg.seed, "sizes": {k: len(v) for k, v in split.items()},
                  "dedup": "sha256 + 64-bit DCT perceptual hash, Hamming <= 6, groups kept on one side"},
        "training": {"epochs_run": len(history.get("loss", [])), "wall_time_s": round(train_seconds),
                     "machine": machine_description(), "config": {k: str(v) for k, v in asdict(cfg).items()}},
        "test_metrics_keras_float32": report,
    }
    np.savez_compressed(out / "eval_data.npz", calib=data.crops[split["train"]][:: max(1, len(split["train"]) // 200)],
                        test_x=data.crops[split["test"]], test_y=y["test"])
    (out / "card_base.json").write_text(json.dumps(card, indent=1))

    # 5. Export to TFLite; refuse a quantization that costs more than 0.5 points.
    exported = export_and_check(out, cfg.quantize)
    metrics = {**report, "split": "test", "skipped": [{"path": p, "reason": r} for p, r in data.skipped],
               "exported": exported, "wall_time_s": round(clock.seconds)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


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
