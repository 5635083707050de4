"""Does `--blur` hide every face, and is each person counted once? Issue 37's figures in one JSON.

    python tools/blur_check.py [--clips NAME ...] [--max-frames N] [--counts] [--json docs/bench/blur_clips.json]

Each clip of ../shared/data/videos (default: nomask_man, dancers_nomask, medical_staff_masks) is run
twice by `facemask detect`: with `--blur` (its video, JSON Lines and frame rate), and without it at
`--detect-every 1`, the cadence `--blur` uses, so both draw the same overlay: where that recording
differs from the source frame by more than encoding noise is where the overlay is drawn.

A face is *hidden* when the variance of the Laplacian in the inner 60 % of its box, on the pixels the
overlay leaves alone, is at most 10 % of the source frame's on the same pixels. The faces come from:
- `own`: the run's own JSON Lines (every face it drew and wrote);
- `independent`: CenterFace at a longest side of 960 px with a raw cut of 0.5 on every source frame,
  a detector the run does not use.
Per clip and measure: the faces measured, the share hidden, the median and the worst face (its frame,
box and ratio). `fps` is the `--blur` run's frames per second, the video written (one run, not a benchmark).
`--counts` adds the people counted at `--detect-every` 1, 2, 3 and 5 (no blur) on every clip it names in
COUNT_CLIPS, with violations and resolved ones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from run_cli import detect

from facemask.detection.centerface import CenterFaceNet, CenterFaceSettings
from facemask.evaluation.provenance import code_provenance
from facemask.pipeline.annotate import COLORS

OVERLAY_DIFF, OVERLAY_GROW = 48, 9  # a drawn pixel differs from the source this much; grown to cover its edges
OVERLAY_COLOURS = [*COLORS.values(), (255, 255, 255)]  # box and label fills, and the text
COLOUR_TOLERANCE = 24  # encoding noise around a drawn colour
HIDDEN = 0.10  # the bar: sharpness at most this share of the source's
INNER = 0.2  # each side of the box left out: the inner 60 %
INDEPENDENT = CenterFaceSettings(longest=960, floor=0.5)
VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = ("nomask_man", "dancers_nomask", "medical_staff_masks")
COUNT_CLIPS = ("dancers_nomask", "nomask_man", "mask_woman", "medical_staff_masks", "putting_mask_on")
SCHEDULES = (1, 2, 3, 5)


def inner(box, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The inner 60 % of an xyxy box, inside a picture of `shape`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    dx, dy = (x2 - x1) * INNER, (y2 - y1) * INNER
    h, w = shape[:2]
    top, bottom = max(0, round(y1 + dy)), min(h, round(y2 - dy))
    left, right = max(0, round(x1 + dx)), min(w, round(x2 - dx))
    return slice(top, max(top, bottom)), slice(left, max(left, right))


def sharpness(image: np.ndarray, box) -> float:
    """Variance of the Laplacian in the inner 60 % of `box` (NaN: nothing left)."""
    region = image[inner(box, image.shape)]
    if region.size == 0:
        return float("nan")
    return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def drawn_mask(sharp: np.ndarray, source: np.ndarray, blurred: np.ndarray) -> np.ndarray:
    """Where the overlay is drawn, grown by OVERLAY_GROW px: the unblurred recording far from the source, and the
    blurred one's pixels in an overlay colour (the two runs' panels show other frame rates, so a label that
    steps around the panel may sit elsewhere in each)."""
    drawn = cv2.absdiff(sharp, source).max(axis=2) > OVERLAY_DIFF
    for colour in OVERLAY_COLOURS:
        drawn |= np.abs(blurred.astype(np.int16) - colour).max(axis=2) <= COLOUR_TOLERANCE
    return cv2.dilate(drawn.astype(np.uint8), np.ones((2 * OVERLAY_GROW + 1,) * 2, np.uint8)) > 0


def hidden_ratio(blurred: np.ndarray, source: np.ndarray, drawn: np.ndarray, box) -> float:
    """Blurred over source sharpness in the inner 60 % of `box`, on the pixels no overlay was drawn on
    (NaN: none left, or a flat source)."""
    window = inner(box, source.shape)
    free = ~drawn[window]
    if free.sum() < 9:
        return float("nan")
    lap = [cv2.Laplacian(cv2.cvtColor(f[window], cv2.COLOR_BGR2GRAY), cv2.CV_64F)[free] for f in (blurred, source)]
    return float(lap[0].var() / lap[1].var()) if lap[1].var() > 0 else float("nan")


def frames(path: Path) -> Iterator[np.ndarray]:
    """The decoded frames of a video, one at a time."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                return
            yield image
    finally:
        cap.release()


def summary(ratios: list[tuple[float, int, list[int]]]) -> dict:
    """Faces measured, share hidden, median, and the worst face (frame, box, ratio)."""
    kept = [r for r in ratios if not np.isnan(r[0])]
    if not kept:
        return {"faces_measured": 0, "share_hidden": None, "median_ratio": None, "worst": None}
    values = np.array([r for r, _, _ in kept])
    worst = max(kept, key=lambda r: r[0])
    return {
        "faces_measured": len(kept),
        "faces_unmeasurable": len(ratios) - len(kept),
        "share_hidden": round(float((values <= HIDDEN).mean()), 4),
        "median_ratio": round(float(np.median(values)), 4),
        "worst": {"ratio": round(worst[0], 4), "frame": worst[1], "box": worst[2]},
    }


def measure(video: Path, runs: dict[str, Path], limit: int | None) -> dict:
    """Both measures over one clip's frames (its first `limit` only, when given)."""
    records = {r["frame"]: r["faces"] for r in map(json.loads, runs["json"].read_text().splitlines())}
    net = CenterFaceNet(INDEPENDENT)
    own, independent = [], []
    triples = zip(frames(video), frames(runs["sharp"]), frames(runs["blurred"]))
    for i, (source, sharp, blurred) in enumerate(triples):
        if limit is not None and i >= limit:
            break
        drawn = drawn_mask(sharp, source, blurred)
        for face in records.get(i, []):
            own.append((hidden_ratio(blurred, source, drawn, face["box"]), i, face["box"]))
        for box in net.detect(source)[0]:
            box = [round(float(v)) for v in box]
            independent.append((hidden_ratio(blurred, source, drawn, box), i, box))
    return {"own": summary(own), "independent": summary(independent)}


def run_clip(name: str, work: Path, limit: int | None) -> dict:
    """The `--blur` run and the unblurred one at the same cadence, then both measures and the frame rate."""
    video = VIDEOS / f"{name}.mp4"
    runs = {"blurred": work / f"{name}_blur.mp4", "sharp": work / f"{name}_sharp.mp4", "json": work / f"{name}.jsonl"}
    cap = ["--max-frames", str(limit)] if limit else []
    proc = detect(video, "--blur", "--output", str(runs["blurred"]), "--json", str(runs["json"]), *cap, what=name,
                  timeout=1200)  # fmt: skip
    detect(video, "--detect-every", "1", "--output", str(runs["sharp"]), *cap, what=name, timeout=1200)
    rate = re.search(r"\(([\d.]+) fps\)", proc.stdout + proc.stderr)
    return measure(video, runs, limit) | {"fps_with_blur": float(rate.group(1)) if rate else None}


def counts(work: Path, limit: int | None) -> dict:
    """People, violations and resolved ones per clip and detection schedule (no blur)."""
    out: dict[str, dict] = {}
    for name in COUNT_CLIPS:
        for every in SCHEDULES:
            path = work / f"{name}_{every}_summary.json"
            cap = ["--max-frames", str(limit)] if limit else []
            detect(VIDEOS / f"{name}.mp4", "--detect-every", str(every), "--summary", str(path), *cap, what=name,
                   timeout=1200)  # fmt: skip
            s = json.loads(path.read_text())
            out.setdefault(name, {})[str(every)] = {k: s[k] for k in ("people", "violations", "resolved", "violators")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="+", default=list(CLIPS), metavar="NAME")
    ap.add_argument("--max-frames", type=int, metavar="N", help="each clip's first N frames only (a quick look)")
    ap.add_argument("--counts", action="store_true", help="also the people counted at --detect-every 1, 2, 3, 5")
    ap.add_argument("--json", type=Path, default=Path("docs/bench/blur_clips.json"))
    a = ap.parse_args()
    missing = [n for n in a.clips if not (VIDEOS / f"{n}.mp4").is_file()]
    if missing:
        print(f"error: no such clip in {VIDEOS}: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        clips = {name: run_clip(name, Path(tmp), a.max_frames) for name in a.clips}
        people = counts(Path(tmp), a.max_frames) if a.counts else None
    for name, c in clips.items():
        print(name, json.dumps(c))
    doc = {
        "command": "python tools/blur_check.py " + " ".join(sys.argv[1:]),
        "bar": f"hidden: Laplacian variance, inner 60 % of the box, off the overlay, <= {HIDDEN:.0%} of the source",
        "independent_detector": f"CenterFace, longest side {INDEPENDENT.longest} px, raw cut {INDEPENDENT.floor}",
        "max_frames": a.max_frames,
        "clips": clips,
    }
    if people is not None:
        print("counts", json.dumps(people))
        doc["counts"] = people
    a.json.write_text(json.dumps(doc | code_provenance(__file__), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
