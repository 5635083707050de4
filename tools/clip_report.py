"""Per-clip figures for the shared videos: detection rate, label accuracy, flips, violations.

Runs `facemask detect` on each clip exactly as a user would (headless, JSON Lines and events),
then reads the records back. Used for the closing figures and by tests/test_real_clips.py.

usage: python tools/clip_report.py [--model default] [--json docs/bench/clips.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from run_cli import detect

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
EXPECTED = {
    "mask_woman.mp4": "mask",
    "nomask_man.mp4": "no_mask",
    "putting_mask_on.mp4": None,
    "medical_staff_masks.mp4": "mask",
    "dancers_nomask.mp4": "no_mask",
}


def run_clip(video: Path, model: str, workdir: Path, extra: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """(per-frame records, events) from `facemask detect VIDEO --no-display --json --events`."""
    frames, events = workdir / f"{video.stem}.jsonl", workdir / f"{video.stem}_events.jsonl"
    detect(
        video, "--model", model, "--json", str(frames), "--events", str(events), *extra, what=video.name, timeout=1200
    )

    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    return read(frames), (read(events) if events.exists() else [])


def flips(records: list[dict], key: str) -> int:
    """Label changes within a track, summed over tracks (per-frame `key`: label or raw_label)."""
    last: dict[int, str] = {}
    count = 0
    for rec in records:
        for face in rec["faces"]:
            if "track_id" not in face:  # not (yet) a confirmed track: no person to flip
                continue
            tid = face["track_id"]
            if tid in last and last[tid] != face[key]:
                count += 1
            last[tid] = face[key]
    return count


def summarize(records: list[dict], events: list[dict], expected: str | None) -> dict:
    """Detection rate, label accuracy (smoothed and raw, on the largest face), flips, violations."""
    with_face = [r for r in records if r["faces"]]
    main = [max(r["faces"], key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1])) for r in with_face]
    out = {
        "frames": len(records),
        "frames_with_face": len(with_face),
        "face_rate": round(len(with_face) / max(1, len(records)), 4),
        "faces_per_frame": round(sum(len(r["faces"]) for r in records) / max(1, len(records)), 3),
        "tracks": len({f["track_id"] for r in records for f in r["faces"] if "track_id" in f}),
        "flips_smoothed": flips(records, "label"),
        "flips_raw": flips(records, "raw_label"),
        "violations": sum(e["event"] == "violation" for e in events),
        # the label shown and its confidence must agree: never under 0.5 (None when no face was classified)
        "min_shown_confidence": min(
            (f["confidence"] for r in records for f in r["faces"] if f["confidence"] is not None), default=None
        ),
    }
    if expected:
        out["label_accuracy"] = round(sum(f["label"] == expected for f in main) / max(1, len(main)), 4)
        raw = [f.get("raw_label", f["label"]) for f in main]  # faces without an id yet carry only their label
        out["raw_label_accuracy"] = round(sum(label == expected for label in raw) / max(1, len(main)), 4)
    tail = records[int(0.8 * len(records)) :]
    tail_main = [max(r["faces"], key=lambda f: f["face_confidence"]) for r in tail if r["faces"]]
    out["last20_mask_fraction"] = round(sum(f["label"] == "mask" for f in tail_main) / max(1, len(tail_main)), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--model", default="default")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.videos or EXPECTED:
            records, events = run_clip(VIDEOS / name, a.model, Path(tmp))
            rows[name] = summarize(records, events, EXPECTED.get(name))
            print(name, json.dumps(rows[name]))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"model": a.model, "clips": rows}, indent=1))


if __name__ == "__main__":
    main()
