"""Frame-rate ratio of `facemask benchmark` against ../shared/tools/reference_loop.py, measured in one run.

Absolute fps drift on shared machines, so each video is timed with the reference loop and with
our pipeline back to back, in this one process tree, and the ratio is what we report.

usage: python tools/compare_reference.py [VIDEO ...] [--backbone mobilenetv2] [--frames 150]
       [--model default] [--detect-every N] [--people] [--json docs/bench/reference_ratio.json]

`--people` also runs `facemask detect` on each whole video, as a user would, and reports the people
it counted beside the count by eye (tests/clips_truth.json).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facemask.cli import options, values
from facemask.cli.parser import Parser
from facemask.evaluation.provenance import code_provenance

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VIDEOS = ("nomask_man.mp4", "mask_woman.mp4", "putting_mask_on.mp4", "medical_staff_masks.mp4", "dancers_nomask.mp4")


def _run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd[:3])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def reference(video: Path, backbone: str, frames: int) -> dict:
    out = _run(
        [
            sys.executable,
            str(SHARED / "tools" / "reference_loop.py"),
            str(video),
            "--backbone",
            backbone,
            "--frames",
            str(frames),
        ]
    )
    fps = float(re.search(r"reference_fps=([\d.]+)", out).group(1))
    faces = int(re.search(r"faces=(\d+) frames=(\d+)", out).group(1))
    counted = int(re.search(r"faces=(\d+) frames=(\d+)", out).group(2))
    return {"fps": fps, "faces_per_frame": round(faces / max(1, counted), 3)}


def ours(video: Path, frames: int, model: str, detect_every: int | None, extra: list[str]) -> dict:
    out = _run(
        [
            sys.executable,
            "-m",
            "facemask.cli",
            "benchmark",
            str(video),
            "--frames",
            str(frames),
            "--model",
            model,
            *(["--detect-every", str(detect_every)] if detect_every else []),
            *extra,
        ]
    )
    return json.loads(out[: out.rindex("facemask_fps=")])


def detector_args(a) -> list[str]:
    """The face detector options, the same for the timed run and the people count."""
    return ["--detector-mode", a.detector_mode, "--face-detector", a.face_detector]


def people(video: Path, a) -> dict:
    """People counted by `facemask detect` on the whole video (the user's path), beside the count by eye."""
    from clip_counts import load_truth, run_counts

    extra = ("--model", a.model, *detector_args(a))
    extra += ("--detect-every", str(a.detect_every)) if a.detect_every else ()
    with tempfile.TemporaryDirectory() as tmp:
        counts = run_counts(video, "every2", Path(tmp), extra)
    truth = load_truth().get(video.name, {}).get("people")
    return {"people": counts["people"], "people_by_eye": truth, "detect_fps": counts["fps"]}


def compare(video: Path, a) -> dict:
    """One video: the reference loop, then `facemask benchmark` (and, with --people, `facemask detect`)."""
    ref = reference(video, a.backbone, a.frames)
    mine = ours(
        video,
        2 * a.frames,
        a.model,
        a.detect_every,
        detector_args(a),
    )
    return {
        "video": video.name,
        "reference_fps": ref["fps"],
        "facemask_fps": mine["fps"],
        "fps_ratio": round(mine["fps"] / ref["fps"], 2),
        "reference_faces_per_frame": ref["faces_per_frame"],
        "facemask_faces_per_frame": mine["faces_per_frame"],
        "faces_ratio": round(mine["faces_per_frame"] / ref["faces_per_frame"], 2) if ref["faces_per_frame"] else None,
        "facemask_stage_ms_p50": {k: v["p50"] for k, v in mine["stage_ms"].items()},
        "facemask_stage_ms_mean": {k: v["mean"] for k, v in mine["stage_ms"].items()},
        **(people(video, a) if a.people else {}),
    }


def main() -> None:
    ap = Parser()
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--backbone", default="mobilenetv2", choices=("mobilenetv2", "resnet50"))
    ap.add_argument("--frames", type=values.positive_int, default=150)
    options.add_model(ap)
    options.add_detect_every(ap)
    options.add_detector_mode(ap)
    options.add_face_detector(ap)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--people",
        action="store_true",
        help="also run `facemask detect` on each whole video (its defaults) and report the people it counts",
    )
    a = ap.parse_args()
    videos = a.videos or [SHARED / "data" / "videos" / v for v in VIDEOS]
    rows = []
    for video in videos:
        row = compare(video, a)
        rows.append(row)
        print(json.dumps(row))
    doc = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": platform.platform(),
        "backbone": a.backbone,
        "reference_frames": a.frames,
        "facemask": {
            "model": a.model,
            "detect_every": a.detect_every,
            "detector_mode": a.detector_mode,
            "face_detector": a.face_detector,
        },
        "rows": rows,
    }
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(doc | code_provenance(__file__), indent=1))


if __name__ == "__main__":
    main()
