"""Export a trained Keras model to TFLite and prove the quantized file still classifies as well."""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from facemask import LABELS
from facemask.core.config import ClassifierConfig
from facemask.core.errors import FacemaskError
from facemask.core.hashing import file_digest
from facemask.core.labels import no_mask_at

MAX_DROP_POINTS = 0.5


def convert(keras_path: Path, quantize: str, calib: np.ndarray, dest: Path) -> Path:
    """Write `dest` as int8 (calibrated on `calib`, float I/O) or float16 TFLite."""
    import keras
    import tensorflow as tf

    try:
        model = keras.models.load_model(keras_path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types; a Lambda layer's refusal runs to 60 lines
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise FacemaskError(f"{keras_path}: cannot load Keras model ({first.strip()})") from None
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "int8":

            def representative():
                for crop in calib:
                    yield [crop[None].astype(np.float32)]

            converter.representative_dataset = representative
        elif quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize != "dynamic":  # dynamic: int8 weights, float activations (no calibration data)
            raise FacemaskError(f"unknown quantization {quantize!r} (int8, dynamic or float16)")
        dest.write_bytes(converter.convert())
    return dest


def write_card(model_path: Path, card: dict) -> Path:
    card = {
        **card,
        "file": model_path.name,
        "model_sha256": file_digest(model_path),
        "model_bytes": model_path.stat().st_size,
    }
    path = model_path.with_suffix(".json")
    path.write_text(json.dumps(card, indent=1))
    return path


def _predictor(model_path: Path, threshold: float, n_labels: int):
    """(crops -> raw outputs, outputs -> label indices): two labels through the classifier detection uses,
    more through LiteRT directly, labelled by argmax (the card's `decision`)."""
    if n_labels == len(LABELS):
        from facemask.classification.classifier import MaskClassifier

        clf = MaskClassifier(ClassifierConfig(model=str(model_path), threshold=threshold))
        return clf.predict_crops, lambda p: np.where(
            no_mask_at(p, threshold), LABELS.index("no_mask"), LABELS.index("mask")
        )
    from facemask.classification.runtime import LiteRTRunner

    runner = LiteRTRunner(model_path, ClassifierConfig().threads)
    return lambda x: runner(np.asarray(x, np.float32)), lambda p: p.argmax(axis=1)


def measure(model_path: Path, test_x: np.ndarray, test_y: np.ndarray, threshold: float, n_labels: int = 2) -> dict:
    """Accuracy and per-face latency through the same runtime detection uses."""
    predict, to_labels = _predictor(model_path, threshold, n_labels)
    pred = to_labels(np.concatenate([predict(test_x[i : i + 32]) for i in range(0, len(test_x), 32)]))
    times = []
    for crop in test_x[:40]:
        t0 = time.perf_counter()
        predict(crop[None])
        times.append(time.perf_counter() - t0)
    return {
        "accuracy": round(float((pred == test_y).mean()), 4),
        "ms_per_face": round(1000 * float(np.median(times[5:] or times)), 2),
    }


def export_and_check(run_dir: Path, quantize: str = "auto") -> dict:
    """Export candidates, keep the fastest whose test accuracy is within 0.5 points of float."""
    try:
        card = json.loads((run_dir / "card_base.json").read_text())
        float_acc, _ = card["test_metrics_keras_float32"]["accuracy"], card["threshold"]
        n_labels = len(card.get("labels", LABELS))
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise FacemaskError(
            f"{run_dir / 'card_base.json'}: unreadable or incomplete ({type(exc).__name__}: {exc})"
        ) from None
    try:
        with np.load(run_dir / "eval_data.npz") as data:
            calib, test_x, test_y = data["calib"], data["test_x"], data["test_y"]
            names = data["extra_names"].tolist() if "extra_names" in data else []
            extra = {str(n): (data[f"extra_x_{i}"], data[f"extra_y_{i}"]) for i, n in enumerate(names)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise FacemaskError(
            f"{run_dir / 'eval_data.npz'}: unreadable or incomplete ({type(exc).__name__}: {exc})"
        ) from None
    # Training bakes the calibration temperature into `calibrated.keras`; older runs have only `best.keras`.
    keras_path = run_dir / "calibrated.keras"
    if not keras_path.is_file():
        keras_path = run_dir / "best.keras"
    results = {}
    for q in ("int8", "dynamic", "float16") if quantize == "auto" else (quantize,):
        path = convert(keras_path, q, calib, run_dir / f"model_{q}.tflite")
        write_card(path, {**card, "quantization": q})
        r = measure(path, test_x, test_y, card["threshold"], n_labels)
        for name, (x, y) in extra.items():
            r[f"accuracy {name}"] = measure(path, x, y, card["threshold"], n_labels)["accuracy"]
        r["drop_points"] = round(100 * (float_acc - r["accuracy"]), 2)
        r["passes"] = r["drop_points"] <= MAX_DROP_POINTS
        r["bytes"] = path.stat().st_size
        results[q] = r
        print(
            f"{q}: test accuracy {r['accuracy']:.4f} (float {float_acc:.4f}), "
            f"{r['ms_per_face']} ms/face, {r['bytes']} bytes"
        )
    passing = [q for q, r in results.items() if r["passes"]]
    if not passing:
        raise FacemaskError(
            f"quantized accuracy dropped more than {MAX_DROP_POINTS} points against float ({results}); nothing exported"
        )
    chosen = min(passing, key=lambda q: results[q]["ms_per_face"])
    final = run_dir / "model.tflite"
    final.write_bytes((run_dir / f"model_{chosen}.tflite").read_bytes())
    write_card(
        final, {**card, "quantization": chosen, "test_metrics_tflite": results[chosen], "export_candidates": results}
    )
    result = {"chosen": chosen, "candidates": results, "float_accuracy": float_acc}
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():  # a re-export updates what the run says it shipped
        try:
            metrics = json.loads(metrics_path.read_text())
            metrics["exported"] = result
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            raise FacemaskError(f"{metrics_path}: unreadable ({type(exc).__name__}: {exc})") from None
        metrics_path.write_text(json.dumps(metrics, indent=1))
    return result
