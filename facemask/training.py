"""Train a mask classifier from folders and scene sets, the way the Keras examples read: top to bottom.

load and crop -> de-duplicated / by-scene split -> augment -> build -> fit with checkpoints and EMA ->
calibrate on val (temperature, cut at 0.5) -> report on every test split -> export TFLite with its card.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.config import FACE_DETECTORS, DetectorConfig
from facemask.crops import CROP_MARGIN
from facemask.dataset import (
    SPLITS,
    LoadedDataset,
    dataset_fingerprint,
    duplicate_groups,
    is_scene_set,
    load_dataset,
    load_scenes,
    split_document,
    split_groups,
)
from facemask.detector import FAST_AREA
from facemask.errors import FacemaskError
from facemask.metrics import (
    calibration_report,
    classification_report,
    fit_temperature,
    plot_confusion,
    plot_grid,
    plot_history,
    plot_reliability,
    roc_auc,
)

MAX_INPUT_SIZE = 512  # 512 px crops already cost 0.75 MB each; larger only exhausts memory


def _overlaps(a: Path, b: Path) -> bool:
    """One folder is, or lies inside, the other."""
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


@dataclass(frozen=True)
class TrainConfig:
    datasets: tuple[Path, ...]  # folders of class subfolders and/or VOC scene sets
    output: Path = Path("runs/train")
    arch: str = "resnet50"
    weights: str = "imagenet"
    input_size: int = 128
    epochs: int = 14
    head_epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 6
    ema: bool = True
    seed: int = 42
    resume: bool = False
    overwrite: bool = False
    finish_only: bool = False  # calibrate, report and export an existing best.keras without fitting
    quantize: str = "auto"
    cache_dir: Path = Path.home() / ".cache" / "facemask"
    crop_detector: str = "fused"  # crops are cut by the detector inference runs
    teacher: str | None = None  # a shipped model name or path whose calibrated P(mask) is distilled
    teacher_weight: float = 0.5  # share of the teacher's soft label in each training target

    def __post_init__(self) -> None:
        if self.crop_detector not in FACE_DETECTORS:
            choices = ", ".join(FACE_DETECTORS)
            raise FacemaskError(f"--crop-detector must be one of {choices}, got {self.crop_detector!r}")
        if not 0.0 <= self.teacher_weight <= 1.0:
            raise FacemaskError(f"--teacher-weight must be between 0 and 1, got {self.teacher_weight}")
        if self.arch not in ("resnet50", "lite"):
            raise FacemaskError(f"--arch must be resnet50 or lite, got {self.arch!r}")
        if not 32 <= self.input_size <= MAX_INPUT_SIZE:
            raise FacemaskError(f"--input-size must be between 32 and {MAX_INPUT_SIZE}, got {self.input_size}")
        if not 0 <= self.seed < 2**32:
            raise FacemaskError(f"--seed must be between 0 and 2**32 - 1, got {self.seed}")
        for root in self.datasets:
            if _overlaps(self.output, root):
                raise FacemaskError(f"{self.output}: --output overlaps the dataset {root}; pick a folder outside it")
            if _overlaps(self.cache_dir, root):
                raise FacemaskError(f"{self.cache_dir}: --cache-dir is inside the dataset {root}; pick another folder")
        if self.quantize not in ("auto", "int8", "dynamic", "float16"):
            raise FacemaskError(f"--quantize must be auto, int8, dynamic or float16, got {self.quantize!r}")
        for name, least in (("epochs", 1), ("batch_size", 1), ("head_epochs", 0), ("patience", 0)):
            if getattr(self, name) < least:
                raise FacemaskError(f"--{name.replace('_', '-')} must be at least {least}, got {getattr(self, name)}")
        if not 0.0 < self.learning_rate < 1.0:
            raise FacemaskError(f"--lr must be between 0 and 1, got {self.learning_rate}")


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


@dataclass
class Source:
    """One dataset source, loaded, cropped and split; its test split is reported on its own."""

    name: str
    root: Path
    data: LoadedDataset
    split: dict[str, list[int]]
    split_doc: dict


def load_sources(cfg: TrainConfig) -> list[Source]:
    """Each `--dataset`: class folders get a de-duplicated split, scene sets a by-scene split."""
    from facemask.face_detectors import load_face_detector

    detector_cfg = DetectorConfig(mode="fast", confidence=0.5, backend=cfg.crop_detector)
    detect = load_face_detector(detector_cfg).detect
    # Crops depend on the detector's settings too, so they are part of the cache's name.
    crop_key = hashlib.sha256(f"{detector_cfg}|{FAST_AREA}|{CROP_MARGIN}".encode()).hexdigest()[:10]
    sources = []
    for root in cfg.datasets:
        cache = cfg.cache_dir / f"crops_{cfg.input_size}_{crop_key}_{root.resolve().name}.npz"
        if is_scene_set(root):
            scenes = load_scenes(root, cfg.input_size, detect, cache, cfg.seed)
            doc = {"seed": cfg.seed, "by": "scene", "splits": scenes.scenes}
            doc["sha256"] = hashlib.sha256(json.dumps(doc["splits"], sort_keys=True).encode()).hexdigest()
            sources.append(Source(f"scenes:{root.name}", root, scenes.data, scenes.split, doc))
        else:
            data = load_dataset(root, cfg.input_size, detect, cache)
            groups = duplicate_groups(data.samples)
            split = split_groups(data.samples, groups, seed=cfg.seed)
            doc = split_document(data.samples, split, root, cfg.seed)
            sizes = np.unique(groups, return_counts=True)[1]
            doc["duplicates"] = {"groups": int((sizes > 1).sum()), "images": int(sizes[sizes > 1].sum())}
            sources.append(Source(f"folder:{root.name}", root, data, split, doc))
    return sources


def teacher_targets(cfg: TrainConfig, crops: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Training targets: the one-hot label, blended with the teacher's calibrated probabilities.

    The teacher (for example the shipped mean) sees each crop resized to each member's input size;
    its P(mask) is centred on its own cut, so 0.5 means undecided on every teacher.
    """
    onehot = np.eye(len(LABELS), dtype=np.float32)[labels]
    if not cfg.teacher or cfg.teacher_weight == 0.0:
        return onehot
    import cv2

    from facemask.classifier import MaskClassifier, centre_on_threshold
    from facemask.config import ClassifierConfig

    clf = MaskClassifier(ClassifierConfig(model=cfg.teacher))
    sizes = [m.card.input_size for m in clf.models]
    p_mask = []
    for start in range(0, len(crops), 64):
        batch = crops[start : start + 64]
        resized = [np.stack([cv2.resize(c, (s, s), interpolation=cv2.INTER_LINEAR) for c in batch]) for s in sizes]
        p_mask.append(centre_on_threshold(clf.predict_crops(*resized), clf.threshold))
    p = np.concatenate(p_mask).astype(np.float32)
    soft = np.zeros_like(onehot)
    soft[:, LABELS.index("mask")] = p
    soft[:, LABELS.index("no_mask")] = 1.0 - p
    agree = float((soft.argmax(axis=1) == labels).mean())
    print(f"teacher {cfg.teacher}: agrees with the labels on {agree:.2%} of {len(labels)} training crops")
    return cfg.teacher_weight * soft + (1.0 - cfg.teacher_weight) * onehot


def _datasets(cfg: TrainConfig, crops: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray):
    import tensorflow as tf

    from facemask.augment import geometric_and_colour, per_image

    train_targets = teacher_targets(cfg, crops[train_idx], labels[train_idx])

    def make(idx: np.ndarray, training: bool):
        targets = train_targets if training else np.eye(len(LABELS), dtype=np.float32)[labels[idx]]
        ds = tf.data.Dataset.from_tensor_slices((crops[idx], targets))
        if training:
            ds = ds.shuffle(len(idx), seed=cfg.seed, reshuffle_each_iteration=True)
            ds = ds.map(lambda x, y: (per_image(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(cfg.batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
        if training:
            augment = geometric_and_colour(cfg.seed)
            ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    return make(train_idx, True), make(val_idx, False)


def _build(cfg: TrainConfig):
    """(model, backbone); backbone is None when every layer trains in one stage."""
    from facemask.model import build_lite, build_resnet50, load_for_finetuning

    if cfg.weights.endswith(".keras"):
        return load_for_finetuning(Path(cfg.weights), cfg.input_size), None
    if cfg.arch == "lite":
        return build_lite(cfg.input_size), None
    return build_resnet50(cfg.input_size, cfg.weights)


def check_weights(cfg: TrainConfig) -> None:
    """Fetch (or find cached) pretrained weights before minutes of cropping, so offline fails at once."""
    if cfg.arch == "resnet50" and not cfg.finish_only and cfg.weights != "none" and not cfg.weights.endswith(".keras"):
        from facemask.model import build_resnet50

        build_resnet50(32, cfg.weights)


def _compile(model, cfg: TrainConfig, steps: int, lr: float) -> None:
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, steps), warmup_target=lr, warmup_steps=max(1, steps // 20)
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4, use_ema=cfg.ema, ema_momentum=0.995),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.05),
        metrics=["accuracy"],
    )


class WallClock:
    """Training time summed over interrupted and resumed runs, saved after every epoch."""

    def __init__(self, out: Path, resume: bool) -> None:
        self.path = out / "wall_time.json"
        self.before = 0.0
        if resume and self.path.is_file():
            try:
                self.before = float(json.loads(self.path.read_text())["seconds"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise FacemaskError(f"{self.path}: unreadable ({type(exc).__name__}: {exc})") from None
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
    # With EMA, validation and the best checkpoint use the averaged weights.
    swap = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if cfg.ema else []
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup" / stage)),
        *swap,
        keras.callbacks.ModelCheckpoint(str(out / "best.keras"), monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience),
        keras.callbacks.CSVLogger(str(out / f"log_{stage}.csv"), append=cfg.resume),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: clock.save()),
    ]
    verbose = 1 if sys.stdout.isatty() else 2
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose)


def _calibrate(model, val_x: np.ndarray, val_y: np.ndarray) -> float:
    """Temperature scaling on val, baked into the softmax layer so exported files carry it."""
    probs = model.predict(val_x, batch_size=64, verbose=0)
    temperature = fit_temperature(probs, val_y)
    layer = model.get_layer("probs")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])
    return temperature


def _report(name: str, probs: np.ndarray, y: np.ndarray, crops: np.ndarray, out: Path) -> dict:
    """Figures, confusion matrix, reliability diagram and a grid for one test split."""
    no_mask = LABELS.index("no_mask")
    y_pred = probs.argmax(axis=1)
    report = classification_report(y, y_pred)
    report["roc_auc"] = round(roc_auc(y == no_mask, probs[:, no_mask]), 4)
    report["calibration"] = calibration_report(probs, y)
    prefix = "" if name.startswith("folder") else "scenes_"
    plot_confusion(report["confusion_matrix"]["matrix"], LABELS, out / f"{prefix}confusion_matrix.png", title=name)
    plot_reliability(probs, y, out / f"{prefix}reliability.png", title=name)
    plot_grid(crops, y, y_pred, probs[:, LABELS.index("mask")], out / f"{prefix}test_grid.png")
    return report


def _augmented_grid(train_ds, out: Path) -> None:
    """What the model sees: one augmented training batch, to check the augmentation by eye."""
    x, y = next(iter(train_ds))
    labels = np.argmax(y.numpy(), axis=1)
    p_mask = (labels == LABELS.index("mask")).astype(np.float32)
    plot_grid(np.clip(x.numpy(), 0, 255).astype(np.uint8), labels, labels, p_mask, out / "augmented_samples.png")


@dataclass
class Pooled:
    """Every source's crops in one array: one train and one val set, and a test split per source."""

    crops: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    val: np.ndarray
    tests: list[np.ndarray]

    @classmethod
    def of(cls, sources: list[Source]) -> Pooled:
        crops = np.concatenate([s.data.crops for s in sources])
        labels = np.concatenate([[x.label for x in s.data.samples] for s in sources]).astype(np.int64)
        offsets = np.cumsum([0] + [len(s.data.samples) for s in sources])
        index = {k: [np.asarray(s.split[k], np.int64) + o for s, o in zip(sources, offsets)] for k in SPLITS}
        pooled = cls(crops, labels, np.concatenate(index["train"]), np.concatenate(index["val"]), index["test"])
        if min(len(pooled.train), len(pooled.val)) == 0 or len(set(labels[pooled.train].tolist())) < len(LABELS):
            raise FacemaskError("too few images to train: every class needs images in the train and val splits")
        return pooled


RUN_MARKER = "facemask-run.json"  # written into every run folder; --overwrite touches only folders that hold it


def _is_run(out: Path) -> bool:
    """A folder this program made: its marker, or (runs from before the marker) its checkpoint and logs."""
    return (out / RUN_MARKER).is_file() or ((out / "best.keras").is_file() and any(out.glob("log_*.csv")))


def prepare_output(cfg: TrainConfig) -> WallClock:
    """The run folder: refuse to clobber an earlier run unless asked, and never delete what we did not write.

    A run that stopped before its first epoch (no checkpoint yet) is simply reused. `--overwrite`
    replaces only a run this program made; a folder of anything else is refused, whatever the flags.
    """
    out = cfg.output
    entries = [p for p in out.iterdir() if p.resolve() != cfg.cache_dir.resolve()] if out.is_dir() else []
    if entries and not _is_run(out):
        raise FacemaskError(
            f"{out}: holds files that are not a facemask training run; pick an empty or new --output folder"
        )
    progressed = (out / "best.keras").is_file() or (out / "backup").is_dir()
    if progressed and not (cfg.resume or cfg.overwrite or cfg.finish_only):
        raise FacemaskError(f"{out}: already holds a run; pass --resume to continue it or --overwrite to replace it")
    if cfg.finish_only and not (out / "best.keras").is_file():
        raise FacemaskError(f"{out}: no best.keras to finish from; train first")
    if progressed and not (cfg.resume or cfg.finish_only):
        shutil.rmtree(out / "backup", ignore_errors=True)  # our own checkpoints: the folder is a run of ours
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_MARKER).write_text(json.dumps({"written_by": "facemask train"}) + "\n")
    return WallClock(out, cfg.resume or cfg.finish_only)


def describe_sources(sources: list[Source], out: Path) -> list[tuple[str, str]]:
    """Print and write what was read, skipped and split; returns the skipped (path, reason) pairs."""
    skipped = [item for s in sources for item in s.data.skipped]
    (out / "skipped.txt").write_text("".join(f"{p}\t{why}\n" for p, why in skipped))
    for path, why in skipped:
        print(f"skipped: {path} ({why})")
    for s in sources:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in s.split.items())
        dups = s.split_doc.get("duplicates")
        dup_note = (
            f"; {dups['images']} images in {dups['groups']} duplicate groups, each on one side"
            if dups and dups["groups"]
            else ""
        )
        print(
            f"{s.name}: {len(s.data.samples)} crops ({sizes}{dup_note}), "
            f"faces found by the detector in {s.data.face_found.mean():.0%}"
        )
    (out / "split.json").write_text(json.dumps({s.name: s.split_doc for s in sources}, indent=1))
    return skipped


def fit_model(cfg: TrainConfig, data: Pooled, clock: WallClock) -> None:
    """Build and fit to `best.keras`; pretrained weights train the head first, then the top blocks."""
    train_ds, val_ds = _datasets(cfg, data.crops, data.labels, data.train, data.val)
    _augmented_grid(train_ds, cfg.output)
    model, backbone = _build(cfg)
    if backbone is not None and cfg.weights != "none":
        backbone.trainable = False
        _fit(model, cfg, train_ds, val_ds, cfg.head_epochs, cfg.learning_rate, "head", clock)
        backbone.trainable = True
        for layer in backbone.layers:
            layer.trainable = layer.name.startswith("conv5_")
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate / 10, "finetune", clock)
    else:
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate, "full", clock)


def report_tests(model, sources: list[Source], data: Pooled, out: Path) -> dict[str, dict]:
    """Figures and plots for each source's test split (an empty one is said, not scored)."""
    reports = {}
    for s, test_idx in zip(sources, data.tests):
        if len(test_idx) == 0:
            print(f"{s.name}: empty test split, nothing to report")
            continue
        probs = model.predict(data.crops[test_idx], batch_size=64, verbose=0)
        reports[s.name] = _report(s.name, probs, data.labels[test_idx], data.crops[test_idx], out)
        print(
            f"{s.name} test: accuracy {reports[s.name]['accuracy']:.4f}, "
            f"ECE {reports[s.name]['calibration']['ece']:.4f}"
        )
    if sources[0].name not in reports:
        raise FacemaskError(f"{sources[0].name}: too few images for a test split; add images or put this source later")
    return reports


def model_card(cfg: TrainConfig, sources: list[Source], reports: dict, temperature: float, clock: WallClock) -> dict:
    """Everything a reader needs to trust the exported file: preprocessing, data, split, recipe, figures."""
    history = history_from_logs(cfg.output)
    first = sources[0].name
    init, stages = _lineage(cfg)
    stage = {
        "weights": cfg.weights,
        "input_size": cfg.input_size,
        "epochs_run": len(history.get("loss", [])),
        "learning_rate": cfg.learning_rate,
        "schedule": "AdamW (weight decay 1e-4), cosine decay after a 5 % linear warm-up, EMA 0.995, "
        f"label smoothing 0.05, batch {cfg.batch_size}, early stopping patience {cfg.patience}",
        "distillation": {"teacher": cfg.teacher, "teacher_weight": cfg.teacher_weight} if cfg.teacher else None,
        "wall_time_s": round(clock.seconds),
    }
    stages = [*stages, stage]
    return {
        "architecture": cfg.arch,
        "input_size": cfg.input_size,
        "labels": list(LABELS),
        "threshold": 0.5,
        "threshold_meaning": "predict no_mask when P(no_mask) >= threshold; probabilities are temperature-calibrated",
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
            "note": "raw 0-255 RGB pixels; the model scales them itself (x/127.5 - 1)",
            "crop": f"largest {cfg.crop_detector} face (fast mode, res10 at {FAST_AREA} px input, cut 0.5), "
            "square, +15% margin each side; whole image if none",
        },
        "weights_init": init,
        "datasets": [
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
        ],
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


def _lineage(cfg: TrainConfig) -> tuple[str, list[dict]]:
    """Where the weights began: a run continued from an earlier run's best.keras inherits its start and stages."""
    base = Path(cfg.weights).parent / "card_base.json"
    if cfg.weights.endswith(".keras") and base.is_file():
        try:
            earlier = json.loads(base.read_text())
            return earlier["weights_init"], earlier["training"].get("stages", [])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise FacemaskError(f"{base}: unreadable or incomplete ({type(exc).__name__}: {exc})") from None
    return cfg.weights, []


def save_eval_data(out: Path, sources: list[Source], data: Pooled) -> None:
    """What `export` needs to check a quantized file: calibration crops and every test split."""
    extra = {f"extra_x_{i}": data.crops[t] for i, t in enumerate(data.tests[1:])}
    extra |= {f"extra_y_{i}": data.labels[t] for i, t in enumerate(data.tests[1:])}
    np.savez_compressed(
        out / "eval_data.npz",
        calib=data.crops[data.train][:: max(1, len(data.train) // 200)],
        test_x=data.crops[data.tests[0]],
        test_y=data.labels[data.tests[0]],
        extra_names=np.array([s.name for s in sources[1:]]),
        **extra,
    )


def train(cfg: TrainConfig) -> dict:
    """Run the whole recipe; returns the metrics document also written to `metrics.json`."""
    import keras

    from facemask.export import export_and_check

    out = cfg.output
    check_weights(cfg)
    clock = prepare_output(cfg)
    keras.utils.set_random_seed(cfg.seed)

    # 1. Load every source once, crop it as inference would, split it; pool train and val.
    sources = load_sources(cfg)
    skipped = describe_sources(sources, out)
    data = Pooled.of(sources)

    # 2. Fit (unless only the steps after it are re-run on an earlier run's best.keras).
    if not cfg.finish_only:
        fit_model(cfg, data, clock)
    plot_history(history_from_logs(out), out / "curves.png")

    # 3. Temperature calibration on val (the cut is then 0.5). Re-estimating BatchNorm statistics for the
    #    EMA weights on unaugmented crops was tried and cost 0.7-3 points on both test splits, so it is not done.
    best = keras.models.load_model(out / "best.keras", compile=False)
    temperature = _calibrate(best, data.crops[data.val], data.labels[data.val])
    best.save(out / "calibrated.keras")

    # 4. Every source's test split, the card, and the data export needs.
    reports = report_tests(best, sources, data, out)
    save_eval_data(out, sources, data)
    (out / "card_base.json").write_text(json.dumps(model_card(cfg, sources, reports, temperature, clock), indent=1))

    # 5. Export to TFLite; refuse a quantization that costs more than 0.5 points.
    exported = export_and_check(out, cfg.quantize)
    first = sources[0].name
    metrics = {
        **reports[first],
        "split": f"{first} test",
        "by_source": reports,
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "exported": exported,
        "wall_time_s": round(clock.seconds),
    }
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
