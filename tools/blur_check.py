"""How blurred the faces are in `--blur` recordings of the shared clips, against the same run without `--blur`.

    python tools/blur_check.py RUNS_DIR [--json docs/bench/blur_clips.json]

RUNS_DIR holds each clip's `--blur` run (`NAME.mp4` and `NAME.jsonl`, as tools/report_clips.py describes).
Each clip is run again here without `--blur`; on every frame with a face, each face box's sharpness
(variance of the Laplacian, inside the box less an inset that keeps its drawn lines out) in the
blurred recording is compared with the same box in the sharp one. The issue's bar: <= 10 % everywhere.

The recordings carry the overlay (the counters panel, each face's label), drawn after the blur and
often over a face box; those pixels are as sharp in both, so `overlay_excluded` also compares the
blurred recording with the source frame on the box's pixels the overlay leaves alone (where the sharp
recording differs from the source by more than encoding noise, grown by OVERLAY_GROW px).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from run_cli import detect

from facemask.evaluation.provenance import code_provenance

OVERLAY_DIFF, OVERLAY_GROW = 48, 9  # a drawn pixel differs from the source this much; grown to cover its edges
VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def sharpness(image: np.ndarray, box: list[int]) -> float:
    x1, y1, x2, y2 = box
    inset_x, inset_y = (x2 - x1) // 8 + 3, (y2 - y1) // 8 + 3
    region = image[y1 + inset_y : y2 - inset_y, x1 + inset_x : x2 - inset_x]
    if region.size == 0:
        return float("nan")
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def outside_overlay(blurred: np.ndarray, source: np.ndarray, sharp: np.ndarray, box: list[int]) -> float:
    """Blurred over source sharpness inside `box`, on the pixels no overlay was drawn on (NaN: none left)."""
    x1, y1, x2, y2 = box
    inset_x, inset_y = (x2 - x1) // 8 + 3, (y2 - y1) // 8 + 3
    window = (slice(y1 + inset_y, y2 - inset_y), slice(x1 + inset_x, x2 - inset_x))
    drawn = (cv2.absdiff(sharp, source).max(axis=2) > OVERLAY_DIFF).astype(np.uint8)
    drawn = cv2.dilate(drawn, np.ones((2 * OVERLAY_GROW + 1,) * 2, np.uint8))[window]
    if drawn.size == 0 or drawn.all():
        return float("nan")
    lap = [
        cv2.Laplacian(cv2.cvtColor(f[window], cv2.COLOR_BGR2GRAY), cv2.CV_64F)[drawn == 0] for f in (blurred, source)
    ]
    return float(lap[0].var() / lap[1].var()) if lap[1].var() > 0 else float("nan")


def frames(path: Path) -> list[np.ndarray]:
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        out.append(image)
    cap.release()
    return out


def clip_ratios(name: str, runs: Path, work: Path) -> dict:
    """Blurred over sharp sharpness of every face box of one clip."""
    sharp_video, sharp_json = work / f"{name}.mp4", work / f"{name}.jsonl"
    detect(VIDEOS / f"{name}.mp4", "--output", str(sharp_video), "--json", str(sharp_json), what=name, timeout=600)
    records = [json.loads(line) for line in (runs / f"{name}.jsonl").read_text().splitlines()]
    same_json = sharp_json.read_text() == (runs / f"{name}.jsonl").read_text()
    sharp, blurred, source = frames(sharp_video), frames(runs / f"{name}.mp4"), frames(VIDEOS / f"{name}.mp4")
    ratios, clean = [], []
    for record in records:
        i = record["frame"]
        for face in record["faces"]:
            before = sharpness(sharp[i], face["box"])
            after = sharpness(blurred[i], face["box"])
            if before > 0 and not np.isnan(after):
                ratios.append(after / before)
            clean.append(outside_overlay(blurred[i], source[i], sharp[i], face["box"]))
    r, c = np.asarray(ratios), np.asarray(clean)
    c = c[~np.isnan(c)]
    return {
        "overlay_excluded": {
            "faces_measured": len(c),
            "max_ratio": round(float(c.max()), 4) if len(c) else None,
            "median_ratio": round(float(np.median(c)), 4) if len(c) else None,
            "share_at_most_10_percent": round(float((c <= 0.10).mean()), 4) if len(c) else None,
        },
        "faces_measured": len(r),
        "frames_with_a_face": sum(1 for rec in records if rec["faces"]),
        "max_ratio": round(float(r.max()), 4) if len(r) else None,
        "median_ratio": round(float(np.median(r)), 4) if len(r) else None,
        "share_at_most_10_percent": round(float((r <= 0.10).mean()), 4) if len(r) else None,
        "json_identical_without_blur": same_json,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path)
    ap.add_argument("--json", type=Path, default=Path("docs/bench/blur_clips.json"))
    a = ap.parse_args()
    names = sorted(p.stem for p in a.runs.glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        clips = {name: clip_ratios(name, a.runs, Path(tmp)) for name in names}
    for name, c in clips.items():
        print(name, c)
    doc = {"command": "python tools/blur_check.py " + " ".join(sys.argv[1:]), "clips": clips}
    a.json.write_text(json.dumps(doc | code_provenance(__file__), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
