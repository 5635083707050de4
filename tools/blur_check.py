"""How blurred the faces are in `--blur` recordings of the shared clips, against the same run without `--blur`.

    python tools/blur_check.py RUNS_DIR [--json docs/bench/blur_clips.json]

RUNS_DIR holds each clip's `--blur` run (`NAME.mp4` and `NAME.jsonl`, as tools/report_clips.py describes).
Each clip is run again here without `--blur`; on every frame with a face, each face box's sharpness
(variance of the Laplacian, inside the box less an inset that keeps its drawn lines out) in the
blurred recording is compared with the same box in the sharp one. The issue's bar: <= 10 % everywhere.
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

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def sharpness(image: np.ndarray, box: list[int]) -> float:
    x1, y1, x2, y2 = box
    inset_x, inset_y = (x2 - x1) // 8 + 3, (y2 - y1) // 8 + 3
    region = image[y1 + inset_y : y2 - inset_y, x1 + inset_x : x2 - inset_x]
    if region.size == 0:
        return float("nan")
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


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
    sharp, blurred = frames(sharp_video), frames(runs / f"{name}.mp4")
    ratios = []
    for record in records:
        for face in record["faces"]:
            before = sharpness(sharp[record["frame"]], face["box"])
            after = sharpness(blurred[record["frame"]], face["box"])
            if before > 0 and not np.isnan(after):
                ratios.append(after / before)
    r = np.asarray(ratios)
    return {
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
