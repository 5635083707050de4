"""Train a mask classifier from folders and scene sets, the way the Keras examples read: top to bottom.

load and crop -> de-duplicated / by-scene split -> augment -> build -> fit with checkpoints and EMA ->
calibrate on val (temperature, cut at 0.5) -> report on every test split -> export TFLite with its card."""

from __future__ import annotations

import json

from facemask.training.classes import decision_fields, run_labels
from facemask.training.config import TrainConfig
from facemask.training.data import Pooled, crop_detector, describe_sources, load_sources, save_eval_data
from facemask.training.fit import calibrate, check_weights, fit_model
from facemask.training.metrics import (
    plot_history,
)
from facemask.training.report import history_from_logs, model_card, report_tests
from facemask.training.run_folder import prepare_output
from facemask.training.unlabelled import load_unlabelled


def train(cfg: TrainConfig) -> dict:
    """Run the whole recipe; returns the metrics document also written to `metrics.json`."""
    import keras

    from facemask.training.export import export_and_check

    out = cfg.output
    check_weights(cfg)
    names = run_labels(cfg)  # two labels, or three or four (issues 38 and 36); refused combinations fail here
    clock = prepare_output(cfg)
    keras.utils.set_random_seed(cfg.seed)

    # 1. Load every source once, crop it as inference would, split it; pool train and val.
    detect, crop_key = crop_detector(cfg)
    sources = load_sources(cfg, detect, crop_key, names)
    skipped = describe_sources(sources, out)
    extra, unlabelled = load_unlabelled(cfg.unlabelled, cfg.input_size, detect, cfg.cache_dir, crop_key)
    data = Pooled.of(sources, extra, names)

    # 2. Fit (unless only the steps after it are re-run on an earlier run's best.keras).
    if not cfg.finish_only:
        fit_model(cfg, data, clock)
    plot_history(history_from_logs(out), out / "curves.png")

    # 3. Temperature calibration on val (the cut is then 0.5). Re-estimating BatchNorm statistics for the
    #    EMA weights on unaugmented crops was tried and cost 0.7-3 points on both test splits, so it is not done.
    best = keras.models.load_model(out / "best.keras", compile=False)
    temperature = calibrate(best, data.crops[data.val], data.labels[data.val])
    best.save(out / "calibrated.keras")
    val_probs = best.predict(data.crops[data.val], batch_size=64, verbose=0) if len(names) > 2 else None
    decision = decision_fields(names, val_probs, data.labels[data.val])

    # 4. Every source's test split, the card, and the data export needs.
    reports = report_tests(best, sources, data, out)
    save_eval_data(out, sources, data)
    card = model_card(cfg, sources, reports, temperature, clock, decision)
    (out / "card_base.json").write_text(json.dumps(card, indent=1))

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
