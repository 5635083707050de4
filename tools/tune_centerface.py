"""Tune CenterFace's input size and cut on the train+val scenes, counting precision by eye.

    python tools/tune_centerface.py [--sizes 320 480 640 800] [--precision 0.95] [--cache runs/centerface_cache.pkl]
        [--labels docs/bench/by_eye/trainval_candidates.json] [--sheets runs/cf_sheets --sheet-size 640 --sheet-cut 0.3]
        [--write fast=480 --write accurate=640]

Each input size runs once over the tuning scenes down to a low score (the cut is the detector's
last step, so one run gives every cut), timed beside one plain 300x300 res10 pass per scene. For
each size and cut: recall and masked recall of faces >= 32 px, precision as scored against the
annotations and by eye: an unmatched box counts as right only when a person labelled it a face
(`--labels`); boxes nobody looked at count as wrong, and `--sheets` draws them on numbered contact
sheets to be looked at. `test` is never read. `--write MODE=SIZE` stores, for that preset, the size
and the lowest cut that keeps by-eye precision `--precision` in facemask/detection/face_detectors.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from facemask.classification.classifier import MaskClassifier
from facemask.core.boxes import box_sizes
from facemask.core.config import ClassifierConfig
from facemask.core.types import Faces
from facemask.detection.centerface import CenterFaceNet, CenterFaceSettings
from facemask.detection.res10 import Res10Detector
from facemask.evaluation.by_eye import ByEye, by_eye_precision
from facemask.evaluation.mosaics import mosaic_by_eye
from facemask.evaluation.sheets import Shown, write_sheets
from facemask.io.imageio import read_image
from facemask.training.voc import match, scene_split, size_buckets, voc_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_detection import reference_ms  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BY_EYE = REPO / "docs" / "bench" / "by_eye"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"
FLOOR = 0.05
CUTS = tuple(np.round(np.arange(0.15, 0.71, 0.025), 3))
MIN_SIZE = 8  # DetectorConfig.min_size


def settings(size: str) -> CenterFaceSettings:
    """`480` (every picture at 480 px) or `480:800` (its own size, bounded to 480-800 px)."""
    low, _, high = size.partition(":")
    return CenterFaceSettings(longest=int(low), floor=FLOOR, max_longest=int(high or 0))


def run_size(pairs: list, size: str, ref_net) -> dict:
    """One input size over the scenes: raw boxes, scores, the GT each matched, and times."""
    net = CenterFaceNet(settings(size))
    rows, ms, ref = [], [], []
    net.detect(read_image(pairs[0][0]))  # the first forward allocates
    for path, gt in pairs:
        image = read_image(path)
        start = time.perf_counter()
        xyxy, score, _ = net.detect(image)
        ms.append((time.perf_counter() - start) * 1000)
        ref.append(reference_ms(ref_net, image))
        keep = box_sizes(xyxy) >= MIN_SIZE
        xyxy, score = xyxy[keep], score[keep]
        rows.append({"scene": path.name, "xyxy": xyxy, "score": score, "gt": match(xyxy, score, gt.xyxy), "truth": gt})
    return {"rows": rows, "ms": float(np.mean(ms)), "ref_ms": float(np.mean(ref))}


def add_not_face(rows: list, data: Path, model: str) -> None:
    """P(not a face) of every box down to the lowest cut tried, from `model`'s not_face output (in place)."""
    classifier = MaskClassifier(ClassifierConfig(model=model))
    if classifier.not_face_threshold is None:
        raise SystemExit(f"error: {model}: this model has no not_face output to give a second look")
    for r in rows:
        r["not_face"] = np.ones(len(r["score"]), np.float32)
        low = r["score"] >= min(CUTS)
        if low.any():
            faces = classifier.classify(
                read_image(data / "images" / r["scene"]), Faces(r["xyxy"][low], r["score"][low])
            )
            r["not_face"][low] = 1.0 - faces.face_prob


def point(rows: list, cut: float, by_eye: ByEye, look: tuple[float, float] | None = None) -> dict:
    """Figures of one cut: recall, masked recall, scored and by-eye precision (faces >= 32 px).

    `look` = (second-look raw cut, not-face threshold): boxes between it and `cut` count when P(not face) is
    under the threshold (the analyzer's `second_look`)."""
    n_big = n_masked = tp = masked = 0
    unmatched: list[str | None] = []
    for r in rows:
        big = size_buckets(r["truth"].xyxy) > 0
        is_masked = big & (r["truth"].classes == "masked")
        n_big, n_masked = n_big + int(big.sum()), n_masked + int(is_masked.sum())
        kept = r["score"] >= cut
        if look is not None:
            kept |= (r["score"] >= look[0]) & (r["not_face"] < look[1])
        gt = r["gt"][kept]
        hit = gt[gt >= 0]
        tp, masked = tp + int(big[hit].sum()), masked + int(is_masked[hit].sum())
        unmatched += by_eye.label(r["scene"], r["xyxy"][kept][gt < 0])
    eye = by_eye_precision(tp, unmatched)
    return {
        "cut": float(cut),
        **({"second_look": look[0], "not_face_threshold": look[1]} if look else {}),
        "recall_ge32": round(tp / n_big, 4),
        "masked_recall_ge32": round(masked / n_masked, 4),
        "precision_ge32_scored": round(tp / max(tp + len(unmatched), 1), 4),
        **eye,
    }


def best_cut(points: list[dict], precision: float) -> dict | None:
    """The lowest cut whose by-eye precision reaches `precision` (recall only falls as the cut rises)."""
    ok = [p for p in points if (p["precision_ge32_by_eye"] or 0) >= precision]
    return min(ok, key=lambda p: p["cut"]) if ok else None


def sheets(data: Path, rows: list, by_eye: ByEye, cut: float, folder: Path) -> None:
    """Contact sheets of the unmatched boxes >= `cut` nobody has looked at yet."""
    shown = []
    for r in rows:
        kept = (r["score"] >= cut) & (r["gt"] < 0)
        for box, sc, label in zip(r["xyxy"][kept], r["score"][kept], by_eye.label(r["scene"], r["xyxy"][kept])):
            if label is None:
                shown.append(Shown(data / "images" / r["scene"], box, float(sc)))
    paths = write_sheets(shown, folder, "centerface")
    print(f"{len(shown)} boxes on {len(paths)} sheets in {folder}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sizes", nargs="+", default=["320", "480", "640", "800"], help="SIZE or SIZE:MAX (own size)")
    ap.add_argument("--mosaic-index", type=Path, help="--data is tools/make_mosaics.py's trainval folder; its index")
    ap.add_argument("--precision", type=float, default=0.95)
    ap.add_argument("--cache", type=Path, default=REPO / "runs" / "centerface_cache.pkl")
    ap.add_argument(
        "--labels",
        type=Path,
        nargs="+",
        default=[BY_EYE / f"trainval_{n}.json" for n in ("candidates", "centerface480", "centerface640")],
    )
    ap.add_argument("--model", help="a classifier with a not_face output: tune the last size's second look too")
    ap.add_argument("--sheets", type=Path)
    ap.add_argument("--sheet-size", default="640")
    ap.add_argument("--sheet-cut", type=float, default=0.3)
    ap.add_argument("--write", nargs="*", default=[], help="MODE=SIZE: store that size and its cut for the preset")
    ap.add_argument("--json", type=Path, default=REPO / "docs" / "bench" / "centerface_tuning.json")
    args = ap.parse_args()
    pairs = voc_dataset(args.data)
    if args.mosaic_index is None:
        split = scene_split(pairs)
        tuning = set(split["train"]) | set(split["val"])
        pairs = [(p, g) for p, g in pairs if p.name in tuning]
    elif args.data.resolve().name != "trainval":
        raise SystemExit("error: tune on the trainval mosaics only")
    cache = pickle.loads(args.cache.read_bytes()) if args.cache.is_file() else {}
    ref_net = Res10Detector().net
    for size in args.sizes:
        if size not in cache:
            cache[size] = run_size(pairs, size, ref_net)
            args.cache.parent.mkdir(parents=True, exist_ok=True)
            args.cache.write_bytes(pickle.dumps(cache))
    by_eye = ByEye.load(*args.labels)
    if args.mosaic_index is not None:
        by_eye = mosaic_by_eye(by_eye, json.loads(args.mosaic_index.read_text())["mosaics"]["trainval"])
    table = {}
    for size in args.sizes:
        points = [point(cache[size]["rows"], c, by_eye) for c in CUTS]
        timing = {
            "ms": round(cache[size]["ms"], 1),
            "ratio_to_300x300": round(cache[size]["ms"] / cache[size]["ref_ms"], 2),
        }
        table[size] = {"timing": timing, "best": best_cut(points, args.precision), "points": points}
        print(size, timing, json.dumps(table[size]["best"]))
    if args.model:
        table["second_look"] = second_looks(cache[args.sizes[-1]]["rows"], args, by_eye)
    if args.sheets:
        sheets(args.data, cache[args.sheet_size]["rows"], by_eye, args.sheet_cut, args.sheets)
    report = {"command": "python " + " ".join(["tools/tune_centerface.py", *sys.argv[1:]]), "scenes": len(pairs)}
    args.json.write_text(json.dumps(report | {"sizes": table}, indent=1) + "\n")
    write_presets(args.write, table)
    return 0


def second_looks(rows: list, args: argparse.Namespace, by_eye: ByEye) -> dict:
    """Every (cut, second-look cut) pair at the model's own not-face threshold, on the last size; the best."""
    add_not_face(rows, args.data, args.model)
    threshold = MaskClassifier(ClassifierConfig(model=args.model)).not_face_threshold
    points = [point(rows, c, by_eye, (lo, threshold)) for c in CUTS for lo in CUTS if lo < c]
    best = best_cut([p for p in points if p["cut"] >= 0.4], args.precision)  # the cut stays near its tuned place
    by_recall = max(
        (p for p in points if (p["precision_ge32_by_eye"] or 0) >= args.precision),
        key=lambda p: p["recall_ge32"],
        default=None,
    )
    print("second look", args.sizes[-1], json.dumps(by_recall))
    return {
        "size": args.sizes[-1],
        "model": args.model,
        "best_lowest_cut": best,
        "best_recall": by_recall,
        "points": points,
    }


def write_presets(choices: list[str], table: dict) -> None:
    """Store each chosen MODE=SIZE preset with its best cut."""
    if not choices:
        return
    path = REPO / "facemask" / "detection" / "face_detectors.json"
    doc = json.loads(path.read_text())
    for choice in choices:
        mode, size = choice.split("=")
        best, preset = table[size]["best"], settings(size)
        doc.setdefault("centerface", {})[mode] = {"longest": preset.longest, "confidence": best["cut"], "tuned": best}
        if preset.max_longest:
            doc["centerface"][mode]["max_longest"] = preset.max_longest
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
