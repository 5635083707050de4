"""Re-tune the fused detector and its face check together, counting precision by eye; write face_fusion.json.

    python tools/tune_joint.py [--mode accurate] [--precision 0.96] [--cache runs/joint_cache.pkl]
        [--labels docs/bench/by_eye/trainval_candidates.json]

tools/tune_fusion.py chose the fusion (YuNet input, res10 floor, YuNet weight, IoU) with every
unannotated face counted as a false positive, and tools/tune_check.py then chose the check's cuts
for that fusion alone. Here every fusion setting of a grid like tune_fusion's (its YuNet inputs,
res10 floors 0.15 and 0.3, YuNet weights 1-3, IoU 0.2-0.4) is scored with its best check
settings (tune_check's search), by the by-eye count of tune_check, on train+val
(`test` is never read). A setting's own cut (the detector without the check) is tune_fusion's:
the lowest cut at scored precision `--fusion-precision`. The winner finds the most faces >= 32 px
at by-eye precision `--precision`; masked faces, then the higher precision, break ties. Boxes
nobody has looked at count as wrong, which favours the fusion the by-eye labels were drawn from:
a new setting wins only on faces the labels can vouch for.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from tune_check import DEFAULT_DATA, REPO, evaluate, gather, tune
from tune_fusion import YUNET_INPUTS, operating_point, run_detectors

from facemask.core.config import DetectorConfig
from facemask.detection.facecheck import FaceCheck
from facemask.detection.fusion import weighted_box_fusion
from facemask.detection.loader import rescale, unrescale
from facemask.detection.res10 import final_cut
from facemask.detection.yunet import FLOOR
from facemask.evaluation.by_eye import ByEye
from facemask.training.voc import match, scene_split, score_curve, size_buckets, voc_dataset

RES10_CUTS = (0.15, 0.3)
WEIGHTS = (1.0, 1.5, 2.0, 3.0)
IOUS = (0.2, 0.3, 0.4)
VIDEO_INPUTS = ("a120k",)  # the video preset keeps the frame budget's input size


def fused_rows(raw: dict, pairs: list, split: dict, mode: str, setting: tuple, fusion_precision: float):
    """One fusion setting's candidates as tune_check rows (scores rescaled at its own cut), and that cut's point."""
    key, res10_cut, weight, iou = setting
    gts = [g for _, g in pairs]
    res10 = raw["res10"][(mode, res10_cut)]
    floor = DetectorConfig(mode=mode, confidence=1e-6)  # only the detector's own size floor
    fused = [
        final_cut(weighted_box_fusion([r, y], (1.0, weight), iou), floor) for r, y in zip(res10, raw["yunet"][key])
    ]
    n_big = int(sum((size_buckets(g.xyxy) > 0).sum() for g in gts))
    n_masked = int(sum(((size_buckets(g.xyxy) > 0) & (g.classes == "masked")).sum() for g in gts))
    own = operating_point(score_curve(fused, gts), n_big, n_masked, fusion_precision)
    if own is None:
        return [], None
    rows = [
        {
            "scene": path.name,
            "split": split[path.name],
            "xyxy": f.xyxy,
            "score": rescale(f.score, own["threshold"]),
            "gt": match(f.xyxy, f.score, g.xyxy, 0.3),
            "gt_xyxy": g.xyxy,
            "gt_class": g.classes,
        }
        for (path, g), f in zip(pairs, fused)
    ]
    return rows, own


def search(args: argparse.Namespace, raw: dict, pairs: list, split: dict) -> list[dict]:
    """Every fusion setting with its best check settings, best first."""
    by_eye, check = ByEye.load(args.labels), FaceCheck()
    inputs = VIDEO_INPUTS if args.mode == "fast" else tuple(YUNET_INPUTS)
    found = []
    for setting in itertools.product(inputs, RES10_CUTS, WEIGHTS, IOUS):
        rows, own = fused_rows(raw, pairs, split, args.mode, setting, args.fusion_precision)
        if own is None:
            continue
        c = gather(rows, args.data, by_eye, check, 0.1)
        try:
            cuts, point = tune(c, args.precision)
        except SystemExit:
            continue
        point["not_looked_at"] = not_looked_at(c, *cuts)
        val = gather([r for r in rows if r["split"] == "val"], args.data, by_eye, check, 0.1)
        point["val_scenes_alone"] = evaluate(val, *cuts)
        rank = (point["recall_ge32"], point["masked_recall_ge32"], point["precision_ge32_by_eye"])
        before = evaluate(c, 0.5, 0.5, 0.0)  # the setting at its own cut, no check
        found.append({"setting": setting, "own": own, "cuts": cuts, "point": point, "rank": rank, "before": before})
        print(json.dumps({"setting": setting, "cuts": cuts, "recall_ge32": point["recall_ge32"]}), flush=True)
    return sorted(found, key=lambda f: f["rank"], reverse=True)


def not_looked_at(c: dict, cut: float, verify_below: float, face_cut: float) -> int:
    """Kept boxes that match no annotated face and that nobody labelled: they count as wrong."""
    kept = (c["score"] >= cut) & ((c["score"] >= verify_below) | (c["p_face"] >= face_cut))
    unmatched = kept & ~c["big_tp"] & ~c["small_tp"]
    return int(sum(label is None for label in c["eye"][unmatched]))


def summary(found: dict) -> dict:
    """One line of the comparison kept on the card: the setting, its check cuts and what they give."""
    keys = ("recall_ge32", "masked_recall_ge32", "precision_ge32_by_eye", "not_looked_at")
    return {"setting": list(found["setting"]), "cuts": list(found["cuts"]), **{k: found["point"][k] for k in keys}}


def preset(best: dict, mode: str, args: argparse.Namespace, scenes: int, tried: int) -> dict:
    """The face_fusion.json entry of the winning setting, in the shape the detector reads."""
    (key, res10_cut, weight, iou), own, (cut, below, face_cut) = best["setting"], best["own"], best["cuts"]
    area, upscale = YUNET_INPUTS[key]
    own_cut = own["threshold"]
    return {
        "res10_mode": mode,
        "res10_confidence": res10_cut,
        "yunet": {"area": area, "max_upscale": upscale, "confidence": FLOOR},
        "weights": {"res10": 1.0, "yunet": weight},
        "iou": iou,
        "confidence": own_cut,
        "tuned": own,
        "check": {
            "confidence": round(unrescale(cut, own_cut), 4),
            "verify_below": round(unrescale(min(below, 1.0), own_cut), 4),
            "face_cut": face_cut,
            "tuned_on": f"train+val scenes ({scenes}), fusion and check together ({tried} fusion settings), "
            f"by-eye precision >= {args.precision}",
            "command": "python " + " ".join(["tools/tune_joint.py", *sys.argv[1:]]),
            "tuned": best["point"],
            "before": best["before"],
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--mode", choices=("fast", "accurate"), default="accurate")
    ap.add_argument("--precision", type=float, default=0.96, help="by-eye precision the setting keeps")
    ap.add_argument("--fusion-precision", type=float, default=0.92, help="scored precision of the own cut")
    ap.add_argument("--cache", type=Path, default=REPO / "runs" / "joint_cache.pkl")
    ap.add_argument("--labels", type=Path, default=REPO / "docs" / "bench" / "by_eye" / "trainval_candidates.json")
    ap.add_argument("--out", type=Path, default=REPO / "facemask" / "detection" / "face_fusion.json")
    args = ap.parse_args()
    pairs = voc_dataset(args.data)
    split = {name: part for part, names in scene_split(pairs).items() for name in names}
    pairs = [(p, g) for p, g in pairs if split[p.name] in ("train", "val")]
    raw = run_detectors(pairs, args.cache, RES10_CUTS)
    found = search(args, raw, pairs, split)
    if not found:
        raise SystemExit(f"no setting reaches by-eye precision {args.precision} on train+val")
    doc = json.loads(args.out.read_text())
    doc["fused"][args.mode] = preset(found[0], args.mode, args, len(pairs), len(found))
    doc["fused"][args.mode]["check"]["runners_up"] = [summary(f) for f in found[1:4]]
    doc["fused_by"] = "tools/tune_joint.py: each preset's fusion and face check chosen together (see its check)"
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"winner": found[0]["setting"], "cuts": found[0]["cuts"], "point": found[0]["point"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
