"""People, compliance, events and id switches per shared clip and detection schedule, via `facemask detect`.

Runs the CLI exactly as a user would (headless, JSON Lines, events, summary) under each
schedule and scores the summary against tests/clips_truth.json. `ids_per_person` is ids
created (distinct track ids in the JSON) over the people really present: 1.0 means no
person's identity broke. Used for docs/benchmarks.md and by tests/test_clip_counts.py.

`--overlay-fps` instead runs the pipeline in-process, drawing every frame as the window
would, and compares the FPS drawn on the last frames with the fps the run reports.

usage: python tools/clip_counts.py [--json docs/bench/tracking_clips.json] [--schedules every2,realtime] [CLIP ...]
       python tools/clip_counts.py --overlay-fps [--json docs/bench/overlay_fps.json] [CLIP ...]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

from run_cli import detect

from facemask.evaluation.provenance import code_provenance

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
TRUTH = REPO / "tests" / "clips_truth.json"
SCHEDULES = {
    "every1": ("--detect-every", "1"),
    "every2": (),  # the default
    "every5": ("--detect-every", "5"),
    "realtime": ("--realtime",),
}


def load_truth() -> dict:
    return json.loads(TRUTH.read_text())["clips"]


def run_counts(video: Path, schedule: str, workdir: Path, extra: tuple[str, ...] = ()) -> dict:
    """The run's summary figures plus ids created and the fps it reported."""
    stem = f"{video.stem}_{schedule}"
    frames, events, summary = (workdir / f"{stem}{suffix}" for suffix in (".jsonl", "_events.jsonl", "_summary.json"))
    proc = detect(
        video,
        "--json",
        str(frames),
        "--events",
        str(events),
        "--summary",
        str(summary),
        *SCHEDULES[schedule],
        *extra,
        what=f"{video.name} ({schedule})",
        timeout=900,
    )
    s = json.loads(summary.read_text())
    records = [json.loads(line) for line in frames.read_text().splitlines() if line.strip()]
    ids = {f["track_id"] for r in records for f in r["faces"] if f.get("track_id") is not None}
    fps = re.search(r"\(([\d.]+) fps\)", proc.stdout)
    return {
        "people": s["people"],
        "masked": s["masked"],
        "unmasked": s["unmasked"],
        "compliance_rate": s["compliance_rate"],
        "violations": s["violations"],
        "resolved": s["resolved"],
        "ids_created": len(ids),
        "frames": len(records),
        "fps": float(fps.group(1)) if fps else None,
    }


def score(counts: dict, truth: dict) -> dict:
    """Counts with the truth beside them: people error and ids per person present."""
    people = truth["people"]
    return {
        **counts,
        "people_true": people,
        "people_error": round(counts["people"] / people - 1, 3),
        "ids_per_person": round(counts["ids_created"] / people, 3),
    }


def overlay_fps(video: Path, schedule: str) -> dict:
    """FPS drawn on the overlay (last frame, and the median over the last half) against the run's fps."""
    from dataclasses import dataclass, field, replace

    from facemask.core.options import RunOptions, pipeline_config
    from facemask.io.sources import FileSource
    from facemask.pipeline.builder import build_pipeline
    from facemask.pipeline.overlay import Overlay
    from facemask.sinks.progress import MemorySampleSink

    @dataclass(frozen=True)
    class RecordingOverlay(Overlay):
        shown: list[float] = field(default_factory=list)

        def lines(self, fps, counters):
            self.shown.append(fps or 0.0)
            return super().lines(fps, counters)

    every = int(SCHEDULES[schedule][1]) if schedule.startswith("every") and SCHEDULES[schedule] else 2
    pipeline = build_pipeline(pipeline_config(RunOptions(detect_every=every), "video"))
    overlay = RecordingOverlay(counter_lines=pipeline.overlay.counter_lines)
    pipeline = replace(pipeline, overlay=overlay)
    with FileSource(video, realtime=schedule == "realtime") as source:
        stats = pipeline.run(source, [MemorySampleSink()])
    tail = sorted(overlay.shown[len(overlay.shown) // 2 :])
    return {
        "reported_fps": round(stats.fps, 2),
        "overlay_fps_last": round(overlay.shown[-1], 2),
        "overlay_fps_median_last_half": round(tail[len(tail) // 2], 2),
        "ratio_last": round(overlay.shown[-1] / stats.fps, 3),
        "frames": stats.frames,
        "dropped": stats.dropped,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="*", help="clip names under ../shared/data/videos (default: all in the truth file)")
    ap.add_argument("--schedules", default=",".join(SCHEDULES))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--overlay-fps", action="store_true", help="compare the overlay's FPS with the reported fps")
    a = ap.parse_args()
    truth = load_truth()
    if a.overlay_fps:
        schedules = a.schedules.split(",")
        fps_rows = {c: {sch: overlay_fps(VIDEOS / c, sch) for sch in schedules} for c in a.clips or list(truth)}
        print(json.dumps(fps_rows, indent=1))
        if a.json:
            cmd = f"python tools/clip_counts.py --overlay-fps --schedules {a.schedules}"
            a.json.write_text(json.dumps({"command": cmd, "clips": fps_rows, **code_provenance(__file__)}, indent=1))
        return
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in a.clips or list(truth):
            for schedule in a.schedules.split(","):
                row = score(run_counts(VIDEOS / clip, schedule, Path(tmp)), truth[clip])
                rows.setdefault(clip, {})[schedule] = row
                print(
                    f"{clip:26s} {schedule:8s} people {row['people']} (true {row['people_true']}), "
                    f"ids/person {row['ids_per_person']}, compliance {row['compliance_rate']}, "
                    f"violations {row['violations']}, resolved {row['resolved']}, {row['fps']} fps",
                    flush=True,
                )
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        every = a.schedules == ",".join(SCHEDULES)
        cmd = "python tools/clip_counts.py" + ("" if every else f" --schedules {a.schedules}")
        doc = {"command": cmd, "truth": str(TRUTH.relative_to(REPO)), "clips": rows, **code_provenance(__file__)}
        a.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
