"""Choose the fused face detector's settings on the scenes' train+val split; write facemask/detection/face_fusion.json.

    python tools/tune_fusion.py [--data ../shared/data/mask-detection] [--cache runs/fusion_cache.pkl]
        [--precision 0.92] [--out facemask/detection/face_fusion.json]

Only `train` and `val` of `voc.scene_split` are read: `test` stays held out for
tools/score_detection.py. YuNet runs once per scene and input size at its floor, res10 once per
scene, mode and score floor tried (cached), then every combination of YuNet input size, res10 score
floor, YuNet weight and fusion IoU is fused offline with the package's own `weighted_box_fusion`;
the cut on the fused score is the lowest that keeps precision (faces >= 32 px) at `--precision`.
The winner is the setting with the most faces >= 32 px found; masked faces break ties. `fast`
(video) only tries YuNet inputs of at most 120k pixels, the frame budget's size. Since the face
check, tools/tune_joint.py chooses the fused presets again with it; this tool's YuNet-alone cuts
stay.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from facemask.core.config import DetectorConfig
from facemask.detection.fusion import weighted_box_fusion
from facemask.detection.res10 import FaceDetector
from facemask.detection.yunet import FLOOR, YuNetDetector, YuNetSettings
from facemask.io.imageio import read_image
from facemask.training.voc import scene_split, score_curve, size_buckets, voc_dataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mask-detection"
YUNET_INPUTS = {"a120k": (120_000, 1.0), "a270k": (270_000, 1.5), "a480k": (480_000, 2.0)}
VIDEO_INPUTS = ("a120k",)
RES10_CUTS = (0.15, 0.3, 0.5)
WEIGHTS = (0.75, 1.0, 1.5, 2.0, 3.0)
IOUS = (0.2, 0.3, 0.4, 0.5)


def run_detectors(pairs, cache: Path, res10_cuts: tuple[float, ...] = RES10_CUTS) -> dict:
    """Raw faces per tuning scene: res10 per (mode, cut), YuNet per input size at its floor.

    res10 runs at each cut rather than once at a floor: its NMS and nested-box rule see only the
    boxes above the cut, so a lower run cut afterwards need not give what the detector gives.
    """
    if cache.is_file():
        raw = pickle.loads(cache.read_bytes())
        if raw.get("res10_cuts") == tuple(res10_cuts):  # a cache of other floors (or an older layout) is redone
            return raw
    res10 = {
        (m, c): FaceDetector(DetectorConfig(mode=m, confidence=c)) for m in ("fast", "accurate") for c in res10_cuts
    }
    yunet = {
        k: YuNetDetector(YuNetSettings(area=a, max_upscale=u, confidence=FLOOR)) for k, (a, u) in YUNET_INPUTS.items()
    }
    raw: dict = {"res10": {k: [] for k in res10}, "yunet": {k: [] for k in yunet}, "res10_cuts": tuple(res10_cuts)}
    for n, (path, _) in enumerate(pairs):
        image = read_image(path)
        for m, det in res10.items():
            raw["res10"][m].append(det.detect(image))
        for k, det in yunet.items():
            raw["yunet"][k].append(det.detect(image))
        if n % 50 == 0:
            print(f"{n}/{len(pairs)} scenes", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(raw))
    return raw


def operating_point(c: dict, n_big: int, n_masked: int, precision: float) -> dict | None:
    """The lowest score cut whose precision (faces >= 32 px) is still >= `precision`."""
    if not len(c["score"]):
        return None
    # a cut can only fall between distinct scores: take the last detection of each score
    last = np.r_[np.flatnonzero(np.diff(c["score"]) != 0), len(c["score"]) - 1]
    prec = c["tp"][last] / np.maximum(c["tp"][last] + c["fp"][last], 1)
    ok = np.flatnonzero(prec >= precision)
    if not len(ok):
        return None
    i = last[ok[np.argmax(c["tp"][last][ok])]]
    return {
        "threshold": round(float(c["score"][i]), 4),
        "recall_ge32": round(float(c["tp"][i] / n_big), 4),
        "masked_recall_ge32": round(float(c["masked"][i] / n_masked), 4),
        "precision_ge32": round(float(c["tp"][i] / (c["tp"][i] + c["fp"][i])), 4),
    }


def tune(raw: dict, gts: list, precision: float) -> dict:
    """The best fused setting per preset, and the best lone-YuNet cut per input size."""
    n_big = int(sum((size_buckets(g.xyxy) > 0).sum() for g in gts))
    n_masked = int(sum(((size_buckets(g.xyxy) > 0) & (g.classes == "masked")).sum() for g in gts))
    presets: dict = {}
    for mode in ("fast", "accurate"):
        best = None
        inputs = VIDEO_INPUTS if mode == "fast" else tuple(YUNET_INPUTS)
        for key, cut, weight, iou in itertools.product(inputs, RES10_CUTS, WEIGHTS, IOUS):
            res10 = raw["res10"][(mode, cut)]
            fused = [weighted_box_fusion([r, y], (1.0, weight), iou) for r, y in zip(res10, raw["yunet"][key])]
            point = operating_point(score_curve(fused, gts), n_big, n_masked, precision)
            if point and (
                best is None
                or (point["recall_ge32"], point["masked_recall_ge32"])
                > (best["tuned"]["recall_ge32"], best["tuned"]["masked_recall_ge32"])
            ):
                area, upscale = YUNET_INPUTS[key]
                best = {
                    "res10_mode": mode,
                    "res10_confidence": cut,
                    "yunet": {"area": area, "max_upscale": upscale, "confidence": FLOOR},
                    "weights": {"res10": 1.0, "yunet": weight},
                    "iou": iou,
                    "confidence": point["threshold"],
                    "tuned": point,
                }
        presets[mode] = best
    alone = {}
    for mode in ("fast", "accurate"):
        points = {
            k: operating_point(score_curve(raw["yunet"][k], gts), n_big, n_masked, precision)
            for k in (VIDEO_INPUTS if mode == "fast" else YUNET_INPUTS)
        }
        key = max((k for k in points if points[k]), key=lambda k: points[k]["recall_ge32"])
        area, upscale = YUNET_INPUTS[key]
        alone[mode] = {
            "area": area,
            "max_upscale": upscale,
            "confidence": points[key]["threshold"],
            "tuned": points[key],
        }
    return {"fused": presets, "yunet": alone, "tuning_faces_ge32": n_big, "tuning_masked_ge32": n_masked}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, default=REPO / "runs" / "fusion_cache.pkl")
    ap.add_argument("--precision", type=float, default=0.92, help="precision the cut keeps on train+val")
    ap.add_argument("--out", type=Path, default=REPO / "facemask" / "detection" / "face_fusion.json")
    a = ap.parse_args(argv)
    pairs = voc_dataset(a.data)
    split = scene_split(pairs)
    names = set(split["train"]) | set(split["val"])
    tuning = [(p, g) for p, g in pairs if p.name in names]
    start = time.perf_counter()
    raw = run_detectors(tuning, a.cache)
    doc = {
        "about": "Fused face detector settings, chosen by tools/tune_fusion.py on the train+val scenes "
        f"of voc.scene_split (seed 42, {len(tuning)} scenes); "
        f"precision target {a.precision} on faces >= 32 px.",
        "command": " ".join(["python tools/tune_fusion.py", *(sys.argv[1:] if argv is None else argv)]),
        **tune(raw, [g for _, g in tuning], a.precision),
    }
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))
    print(f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
