"""Train the face check (detection/facecheck.py) on the scenes' train split; ship it as TFLite int8 with its card.

    python tools/train_face_check.py [--data ../shared/data/mask-detection] [--work runs/facecheck]
        [--labels docs/bench/by_eye/trainval_candidates.json] [--epochs 30] [--out facemask/models/face_check.tflite]

Faces: every annotated face of 12 px or more in the `train` scenes, as annotated and jittered the
way detector boxes sit; the detector's own boxes on them; and unannotated faces found by eye.
Not faces: the detector's candidates (image and video presets) that match no annotated face and
were checked by eye (hands, ears, hair, backs of heads, signs, logos, clocks), and boxes drawn
at random where no face or candidate lies. Candidates nobody looked at, or nobody could decide,
are left out. The `val` scenes serve as its validation set and, unseen, in tools/tune_check.py;
`test` is kept for tools/score_detection.py. Needs both harvests of tools/face_check_data.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np

from facemask.classification.crops import face_crops
from facemask.core.boxes import iou_matrix
from facemask.detection.facecheck import CROP_MARGIN, INPUT_SIZE
from facemask.evaluation.by_eye import MATCH_IOU, ByEye
from facemask.io.imageio import read_image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"
LABELS = REPO / "docs" / "bench" / "by_eye" / "trainval_candidates.json"
MIN_FACE = 12
RANDOM_PER_SCENE = 8


def jitter(box: np.ndarray, rng: np.random.Generator, amount: float = 0.12) -> np.ndarray:
    """A box moved and resized by up to `amount` of its size, as two detectors' boxes differ."""
    w, h = box[2] - box[0], box[3] - box[1]
    dx, dy = rng.uniform(-amount, amount, 2) * (w, h)
    s = rng.uniform(1 - amount, 1 + amount)
    cx, cy = (box[0] + box[2]) / 2 + dx, (box[1] + box[3]) / 2 + dy
    return np.array([cx - w * s / 2, cy - h * s / 2, cx + w * s / 2, cy + h * s / 2], np.float32)


def random_boxes(shape, sizes: np.ndarray, avoid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Up to RANDOM_PER_SCENE boxes of face-like sizes that overlap no face and no candidate."""
    h, w = shape[:2]
    out = []
    for _ in range(RANDOM_PER_SCENE * 4):
        side = float(rng.choice(sizes)) * rng.uniform(0.8, 1.5)
        if side >= min(w, h):
            continue
        x, y = rng.uniform(0, w - side), rng.uniform(0, h - side)
        box = np.array([[x, y, x + side, y + side * rng.uniform(1.0, 1.3)]], np.float32)
        if len(avoid) and iou_matrix(box, avoid).max() > 0.02:
            continue
        out.append(box[0])
        if len(out) == RANDOM_PER_SCENE:
            break
    return np.array(out, np.float32).reshape(-1, 4)


def scene_examples(row: dict, by_eye: ByEye, image: np.ndarray, rng, video_row: dict) -> tuple[list, list, dict]:
    """(boxes, targets 1 face / 0 not, counts) for one scene; `video_row`: its harvest in the video preset,
    whose looked-at boxes the image preset did not find are added too."""
    gt = row["gt_xyxy"][np.maximum(row["gt_xyxy"][:, 2:] - row["gt_xyxy"][:, :2], 0).max(axis=1) >= MIN_FACE]
    boxes = [*gt, *(jitter(b, rng) for b in gt)]
    targets = [1.0] * (2 * len(gt))
    counts = {"annotated": len(gt), "detector_on_faces": 0, "by_eye_faces": 0, "by_eye_not_faces": 0, "random": 0}
    found = row["xyxy"]
    extra = [
        i
        for i in np.flatnonzero(video_row["gt"] < 0)
        if not len(found) or iou_matrix(video_row["xyxy"][i : i + 1], found).max() < MATCH_IOU
    ]
    xyxy = np.concatenate([found, video_row["xyxy"][extra]]).reshape(-1, 4)
    matched = np.concatenate([row["gt"], video_row["gt"][extra]])
    for i, (box, said) in enumerate(zip(xyxy, by_eye.label(row["scene"], xyxy))):
        if matched[i] >= 0:
            boxes.append(box), targets.append(1.0)
            counts["detector_on_faces"] += 1
        elif said in ("face", "not_face"):
            copies = 1 if said == "face" else 4  # the hard negatives are few: each is seen jittered four ways
            boxes += [box, *(jitter(box, rng, 0.08) for _ in range(copies - 1))]
            targets += [1.0 if said == "face" else 0.0] * copies
            counts["by_eye_faces" if said == "face" else "by_eye_not_faces"] += 1
    sizes = np.maximum(row["gt_xyxy"][:, 2] - row["gt_xyxy"][:, 0], 16) if len(row["gt_xyxy"]) else np.array([32.0])
    avoid = np.concatenate([row["gt_xyxy"], row["xyxy"][row["score"] >= 0.05]]).reshape(-1, 4)
    background = random_boxes(image.shape, sizes, avoid, rng)
    boxes += list(background)
    targets += [0.0] * len(background)
    counts["random"] = len(background)
    return boxes, targets, counts


def build_set(
    data: Path, rows: list[tuple[dict, dict]], by_eye: ByEye, split: str, seed: int, crop: tuple[int, float]
) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    xs, ys, totals = [], [], {}
    for row, video_row in ((r, v) for r, v in rows if r["split"] == split):
        image = read_image(data / "images" / row["scene"])
        boxes, targets, counts = scene_examples(row, by_eye, image, rng, video_row)
        if boxes:
            xs.append(face_crops(image, np.array(boxes, np.float32), *crop))
            ys.append(np.array(targets, np.float32))
        totals = {k: totals.get(k, 0) + v for k, v in counts.items()}
    return np.concatenate(xs), np.concatenate(ys), totals


def build_model(size: int):
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flips and light changes: the check must not care which way a face looks or how it is lit."""
    x = x.astype(np.float32)
    flip = rng.random(len(x)) < 0.5
    x[flip] = x[flip, :, ::-1]
    gain = rng.uniform(0.7, 1.3, (len(x), 1, 1, 1))
    bias = rng.uniform(-25, 25, (len(x), 1, 1, 1))
    gray = rng.random(len(x)) < 0.15
    x[gray] = x[gray].mean(axis=-1, keepdims=True)
    return np.clip(x * gain + bias, 0, 255)


def train(x, y, xv, yv, epochs: int, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(x.shape[1])
    weight = {0: len(y) / (2 * max((y == 0).sum(), 1)), 1: len(y) / (2 * max((y == 1).sum(), 1))}
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    target = (1 - y).astype(np.int64)  # column 0 is "face"
    best, best_weights = np.inf, None
    for epoch in range(epochs):
        lr = 2e-3 * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        model.optimizer.learning_rate.assign(lr)
        hist = model.fit(augment(x, rng), target, batch_size=64, epochs=1, class_weight=weight, verbose=0, shuffle=True)
        val = model.evaluate(xv.astype(np.float32), (1 - yv).astype(np.int64), verbose=0)
        loss = hist.history["loss"][0]
        print(f"epoch {epoch + 1}: loss {loss:.4f} val loss {val[0]:.4f} acc {val[1]:.4f}", flush=True)
        if val[0] < best:
            best, best_weights = val[0], model.get_weights()
    model.set_weights(best_weights)
    return model


def export_int8(model, x: np.ndarray, out: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    sample = x[np.random.default_rng(0).choice(len(x), min(300, len(x)), replace=False)].astype(np.float32)
    converter.representative_dataset = lambda: ([s[None]] for s in sample)
    out.write_bytes(converter.convert())


def val_figures(model_path: Path, xv: np.ndarray, yv: np.ndarray) -> dict:
    from facemask.classification.runtime import LiteRTRunner

    run = LiteRTRunner(model_path, 1)
    p = np.concatenate([run(xv[i : i + 256].astype(np.float32))[:, 0] for i in range(0, len(xv), 256)])
    start = time.perf_counter()
    for _ in range(20):
        run(xv[:8].astype(np.float32))
    ms = (time.perf_counter() - start) / (20 * 8) * 1000
    return {
        "n": int(len(yv)),
        "accuracy_at_0.5": round(float(((p >= 0.5) == (yv == 1)).mean()), 4),
        "face_recall_at_0.5": round(float((p[yv == 1] >= 0.5).mean()), 4),
        "not_face_rejected_at_0.5": round(float((p[yv == 0] < 0.5).mean()), 4),
        "ms_per_candidate_batch8_1thread": round(ms, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "facecheck")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--input-size", type=int, default=INPUT_SIZE, help="crop side in pixels")
    ap.add_argument("--margin", type=float, default=CROP_MARGIN, help="context around the box, per side")
    ap.add_argument("--out", type=Path, default=REPO / "facemask" / "models" / "face_check.tflite")
    args = ap.parse_args()
    start = time.time()
    rows = list(zip(*(pickle.loads((args.work / f"candidates_{m}.pkl").read_bytes()) for m in ("accurate", "fast"))))
    assert all(a["scene"] == v["scene"] for a, v in rows)
    by_eye = ByEye.load(args.labels)
    crop = (args.input_size, args.margin)
    x, y, counts = build_set(args.data, rows, by_eye, "train", args.seed, crop)
    xv, yv, val_counts = build_set(args.data, rows, by_eye, "val", args.seed + 1, crop)
    print(f"train {len(x)} crops ({int(y.sum())} faces) {counts}; val {len(xv)} {val_counts}", flush=True)
    model = train(x, y, xv, yv, args.epochs, args.seed)
    export_int8(model, x, args.out)
    card = {
        "architecture": "6 conv (16-32-64) + GAP + softmax, from scratch",
        "input_size": args.input_size,
        "labels": ["face", "not_face"],
        "preprocessing": {"color": "RGB", "crop_margin": args.margin, "note": "raw 0-255 RGB; the model scales"},
        "negatives": (
            "candidates of the fused detector (image preset, and video preset where it found other boxes) on "
            "the train scenes that match no annotated face, each looked at by eye on the contact sheets of "
            "tools/face_check_data.py and labelled not_face in docs/bench/by_eye/trainval_candidates.json "
            "(hands, ears, hair, backs of heads, clothing, signs, logos, toys; boxes nobody could decide are "
            "left out), each seen four times with small shifts; plus random boxes of face sizes that overlap "
            "no annotated face and no candidate"
        ),
        "examples": {"train": counts, "val": val_counts},
        "training": {
            "epochs": args.epochs,
            "schedule": "Adam 2e-3, cosine, batch 64, class-balanced, flips/gain/bias/gray aug",
            "wall_time_s": round(time.time() - start),
            "machine": f"2 CPU cores, {platform.platform()}",
            "command": "python " + " ".join(["tools/train_face_check.py", *sys.argv[1:]]),
        },
        "val_tflite_int8": val_figures(args.out, xv, yv),
        "model_sha256": hashlib.sha256(args.out.read_bytes()).hexdigest(),
        "model_bytes": args.out.stat().st_size,
    }
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(card["val_tflite_int8"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
