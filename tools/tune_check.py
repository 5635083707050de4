"""Choose the fused detector's lower cut and the face check's settings together; write them into face_fusion.json.

    python tools/tune_check.py [--mode accurate] [--split train+val] [--precision 0.96]
        [--work runs/facecheck] [--labels docs/bench/by_eye/trainval_candidates.json]

Reads the candidates of tools/face_check_data.py (`--mode`'s harvest) on the tuning scenes, asks
the shipped face check about each, and tries every (cut, verify_below, face_cut): a candidate is
kept when its score is >= cut and, if under verify_below, the check gives it P(face) >= face_cut.
Precision is counted by eye: a kept box that matches no annotated face counts as right only when
a person labelled it a face (docs/bench/by_eye/trainval_candidates.json); a box nobody looked at
or could not decide counts as wrong. The winner finds the most faces >= 32 px at that precision;
then the most masked ones, then the higher precision, then the fewer checks break ties. The
check was trained on the `train` scenes: with them in the tuning split, the settings are also
scored on the `val` scenes alone, which it never saw. `test` is never read. Thresholds are raw
fused scores, like `confidence`: the check's own `confidence` is the lower cut the detector takes
while the check runs (`--no-face-check`: the old one).
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from pathlib import Path

import numpy as np

from facemask.detection.facecheck import FaceCheck
from facemask.detection.loader import unrescale
from facemask.evaluation.by_eye import ByEye, by_eye_precision
from facemask.io.imageio import read_image
from facemask.training.voc import size_buckets

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"
CUTS = tuple(np.round(np.arange(0.1, 0.51, 0.025), 3))
VERIFY_BELOW = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
FACE_CUTS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def gather(rows: list[dict], data: Path, by_eye: ByEye, check: FaceCheck, floor: float) -> dict:
    """Every candidate >= floor of the tuning scenes as flat arrays, with P(face) and what it is."""
    cols: dict[str, list] = {k: [] for k in ("score", "p_face", "big_tp", "masked_tp", "small_tp", "eye")}
    n_big = n_masked = 0
    for row in rows:
        big = size_buckets(row["gt_xyxy"]) > 0
        masked = big & (row["gt_class"] == "masked")
        n_big, n_masked = n_big + int(big.sum()), n_masked + int(masked.sum())
        keep = row["score"] >= floor
        xyxy, gt = row["xyxy"][keep], row["gt"][keep]
        if not len(xyxy):
            continue
        cols["score"].append(row["score"][keep])
        cols["p_face"].append(check.p_face(read_image(data / "images" / row["scene"]), xyxy))
        matched = np.where(gt >= 0, gt, 0)
        cols["big_tp"].append((gt >= 0) & big[matched] if len(big) else np.zeros(len(gt), bool))
        cols["masked_tp"].append((gt >= 0) & masked[matched] if len(big) else np.zeros(len(gt), bool))
        cols["small_tp"].append((gt >= 0) & ~big[matched] if len(big) else np.zeros(len(gt), bool))
        cols["eye"].append(np.array(by_eye.label(row["scene"], xyxy), dtype=object))
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    return flat | {"n_big": n_big, "n_masked": n_masked}


def evaluate(c: dict, cut: float, verify_below: float, face_cut: float) -> dict:
    kept = (c["score"] >= cut) & ((c["score"] >= verify_below) | (c["p_face"] >= face_cut))
    tp, unmatched = int((kept & c["big_tp"]).sum()), kept & ~c["big_tp"] & ~c["small_tp"]
    counted = tp + int(unmatched.sum())
    return {
        "recall_ge32": round(tp / c["n_big"], 4),
        "masked_recall_ge32": round(int((kept & c["masked_tp"]).sum()) / c["n_masked"], 4),
        "precision_ge32_scored": round(tp / max(counted, 1), 4),
        "precision_ge32_by_eye": by_eye_precision(tp, list(c["eye"][unmatched]))["precision_ge32_by_eye"] or 0.0,
        "checked": int(((c["score"] >= cut) & (c["score"] < verify_below)).sum()),
    }


def tune(c: dict, precision: float) -> tuple[tuple, dict]:
    best = None
    for cut, below, face_cut in itertools.product(CUTS, VERIFY_BELOW, FACE_CUTS):
        if below <= cut:
            continue
        point = evaluate(c, cut, below, face_cut)
        if point["precision_ge32_by_eye"] < precision:
            continue
        rank = (point["recall_ge32"], point["masked_recall_ge32"], point["precision_ge32_by_eye"], -point["checked"])
        if best is None or rank > best[0]:
            best = (rank, (cut, below, face_cut), point)
    if best is None:
        raise SystemExit(f"no setting reaches by-eye precision {precision} on these scenes")
    return best[1], best[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--mode", choices=("fast", "accurate"), default="accurate")
    ap.add_argument("--split", default="train+val", help="tuning scenes: val, train or train+val (never test)")
    ap.add_argument("--precision", type=float, default=0.96, help="by-eye precision the setting keeps")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "facecheck")
    ap.add_argument("--labels", type=Path, default=REPO / "docs" / "bench" / "by_eye" / "trainval_candidates.json")
    ap.add_argument("--out", type=Path, default=REPO / "facemask" / "detection" / "face_fusion.json")
    args = ap.parse_args()
    splits = set(args.split.split("+"))
    if "test" in splits:
        raise SystemExit("error: the test scenes are held out; tune on val and/or train")
    rows = [r for r in pickle.loads((args.work / f"candidates_{args.mode}.pkl").read_bytes()) if r["split"] in splits]
    doc = json.loads(args.out.read_text())
    preset = doc["fused"][args.mode]
    old_cut = float(preset["confidence"])
    by_eye, check = ByEye.load(args.labels), FaceCheck()
    c = gather(rows, args.data, by_eye, check, min(CUTS))
    (cut, below, face_cut), point = tune(c, args.precision)
    if "train" in splits:  # the check learnt from the train scenes: the val ones alone are its unseen share
        val = gather([r for r in rows if r["split"] == "val"], args.data, by_eye, check, min(CUTS))
        point["val_scenes_alone"] = evaluate(val, cut, below, face_cut)
    without = evaluate(c, 0.5, 0.5, 0.0)  # the old operating point, no check
    preset["check"] = {
        "confidence": round(unrescale(cut, old_cut), 4),
        "verify_below": round(unrescale(min(below, 1.0), old_cut), 4),
        "face_cut": face_cut,
        "tuned_on": f"{args.split} scenes ({len(rows)}), by-eye precision >= {args.precision}",
        "command": "python " + " ".join(["tools/tune_check.py", *sys.argv[1:]]),
        "tuned": point,
        "before": without,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"cut": cut, "verify_below": below, "face_cut": face_cut, "with": point, "before": without}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
