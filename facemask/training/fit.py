"""Build and fit: datasets with augmentation, the network, the optimiser, checkpoints and EMA, calibration."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.core.labels import ALL_LABELS
from facemask.training.config import TrainConfig
from facemask.training.data import Pooled, teacher_targets
from facemask.training.metrics import (
    fit_temperature,
    plot_grid,
)
from facemask.training.run_folder import WallClock


def repeated_rare(labels: np.ndarray, times: int) -> np.ndarray:
    """Positions of an epoch: every crop once, each real incorrect_mask crop `times` times (a rare class the
    loss would otherwise learn to ignore: about 50 of the scenes' train faces)."""
    every = np.arange(len(labels))
    rare = every[labels == ALL_LABELS.index("incorrect_mask")]  # label numbers are shared by every run
    return np.concatenate([every, *([rare] * (times - 1))])


def _datasets(cfg: TrainConfig, data: Pooled):
    import tensorflow as tf

    from facemask.training.augment import geometric_and_colour, per_image, synthetic

    crops, labels, n = data.crops, data.labels, len(data.names)
    train_targets = teacher_targets(cfg, crops[data.train], labels[data.train], data.unlabelled[data.train], n)
    # Synthetic masks and look-alikes go on labelled no-mask crops only (a teacher-only crop has no label).
    eligible = (labels[data.train] == LABELS.index("no_mask")) & ~data.unlabelled[data.train]

    def make(idx: np.ndarray, training: bool):
        targets = train_targets if training else np.eye(n, dtype=np.float32)[labels[idx]]
        if training:
            order = repeated_rare(labels[idx], cfg.incorrect_repeat)
            ds = tf.data.Dataset.from_tensor_slices((crops[idx[order]], targets[order], eligible[order]))
            ds = ds.shuffle(len(idx), seed=cfg.seed, reshuffle_each_iteration=True)
            if cfg.synthetic_masks + cfg.hard_negatives + cfg.synthetic_incorrect > 0:
                draw = synthetic(cfg.synthetic_masks, cfg.hard_negatives, cfg.seed, cfg.synthetic_incorrect, n)
                ds = ds.map(draw, num_parallel_calls=4)
            else:
                ds = ds.map(lambda x, y, _eligible: (x, y))
            ds = ds.map(lambda x, y: (per_image(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = tf.data.Dataset.from_tensor_slices((crops[idx], targets))
        ds = ds.batch(cfg.batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
        if training:
            augment = geometric_and_colour(cfg.seed)
            ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    return make(data.train, True), make(data.val, False)


def _build(cfg: TrainConfig, n_labels: int):
    """(model, backbone); backbone is None when every layer trains in one stage."""
    from facemask.training.model import build_efficientnet_lite0, build_lite, build_resnet50, load_for_finetuning

    if cfg.weights.endswith(".keras"):
        return load_for_finetuning(Path(cfg.weights), cfg.input_size, n_labels), None
    if cfg.arch == "lite":
        return build_lite(cfg.input_size, n_labels), None
    if cfg.arch == "efficientnet-lite0":
        return build_efficientnet_lite0(cfg.input_size, cfg.weights, n_labels)
    return build_resnet50(cfg.input_size, cfg.weights, n_labels)


def check_weights(cfg: TrainConfig) -> None:
    """Fetch (or find cached) pretrained weights before minutes of cropping, so offline fails at once."""
    if cfg.finish_only or cfg.weights == "none" or cfg.weights.endswith(".keras"):
        return
    if cfg.arch == "resnet50":
        from facemask.training.model import build_resnet50

        build_resnet50(32, cfg.weights)
    elif cfg.arch == "efficientnet-lite0":
        from facemask.training.pretrained import lite0_weights_file

        lite0_weights_file(cfg.weights)


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
    # The dataset shuffles itself each epoch; `shuffle=False` only stops Keras warning that it would not.
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)


def calibrate(model, val_x: np.ndarray, val_y: np.ndarray) -> float:
    """Temperature scaling on val, baked into the softmax layer so exported files carry it."""
    probs = model.predict(val_x, batch_size=64, verbose=0)
    temperature = fit_temperature(probs, val_y)
    layer = model.get_layer("probs")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])
    return temperature


def _augmented_grid(train_ds, out: Path, names: tuple[str, ...]) -> None:
    """What the model sees: one augmented training batch, to check the augmentation by eye."""
    x, y = next(iter(train_ds))
    labels = np.argmax(y.numpy(), axis=1)
    p_mask = (labels == LABELS.index("mask")).astype(np.float32)  # each shown label at 100 %
    image = np.clip(x.numpy(), 0, 255).astype(np.uint8)
    plot_grid(image, labels, labels, p_mask, out / "augmented_samples.png", labels=names)


def fit_model(cfg: TrainConfig, data: Pooled, clock: WallClock) -> None:
    """Build and fit to `best.keras`; pretrained weights train the head first, then the backbone (see finetunes)."""
    from facemask.training.model import finetunes

    train_ds, val_ds = _datasets(cfg, data)
    _augmented_grid(train_ds, cfg.output, data.names)
    model, backbone = _build(cfg, len(data.names))
    if backbone is not None and cfg.weights != "none":
        backbone.trainable = False
        _fit(model, cfg, train_ds, val_ds, cfg.head_epochs, cfg.learning_rate, "head", clock)
        backbone.trainable = True
        for layer in backbone.layers:
            layer.trainable = finetunes(cfg.arch, layer)
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate / 10, "finetune", clock)
    else:
        _fit(model, cfg, train_ds, val_ds, cfg.epochs, cfg.learning_rate, "full", clock)
