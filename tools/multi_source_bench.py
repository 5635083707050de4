"""Several streams in one process (issue 22): each stream's fps, and its counts against its run alone.

Runs `facemask detect A B C D --realtime` (the sources play like live cameras: frames the loop
cannot take in time are dropped) at the default cadence and at `--detect-every 4`, then each
clip alone with `--realtime`, and writes per-stream fps (frames processed / seconds of the run)
and people / violations. Run it when nothing else runs: it is a speed figure.

usage: python tools/multi_source_bench.py [--json docs/bench/multi_source.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from run_cli import detect

from facemask.evaluation.provenance import code_provenance

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = ("nomask_man.mp4", "nomask_man.mp4", "mask_woman.mp4", "putting_mask_on.mp4")
COUNTS = ("people", "violations", "resolved")


def _run(videos: list[Path], out: Path, *extra: str) -> dict:
    """The summary document of one `detect` run over `videos` (one source: its summary alone)."""
    out.mkdir(parents=True)
    summary = out / "summary.json"
    frames = out / ("{name}.jsonl" if len(videos) > 1 else "frames.jsonl")
    detect(videos, "--realtime", "--json", str(frames), "--summary", str(summary),
           *extra, what=" ".join(v.name for v in videos), timeout=600)  # fmt: skip
    return json.loads(summary.read_text())


def _streams(document: dict) -> dict:
    return {
        name: {"fps": round(s["frames"] / s["duration_s"], 2), **{k: s[k] for k in COUNTS}, "frames": s["frames"]}
        for name, s in document["sources"].items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    videos = [VIDEOS / name for name in CLIPS]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "default cadence": _streams(_run(videos, Path(tmp, "default"))),
            "--detect-every 4": _streams(_run(videos, Path(tmp, "every4"), "--detect-every", "4")),
        }
        alone = {}
        for name in dict.fromkeys(CLIPS):
            summary = _run([VIDEOS / name], Path(tmp, "alone", name))
            alone[Path(name).stem] = {k: summary[k] for k in COUNTS}
    for label, streams in runs.items():
        for name, s in streams.items():
            s["counts_equal_alone"] = all(s[k] == alone[name.split("-")[0]][k] for k in COUNTS)
            print(f"{label:16s} {name:14s} {s['fps']:5.1f} fps  people {s['people']} violations {s['violations']}"
                  f"  counts as alone: {s['counts_equal_alone']}")  # fmt: skip
    document = {
        "what": "four sources in one `facemask detect --realtime` process, default model; fps per stream",
        "command": "python tools/multi_source_bench.py --json docs/bench/multi_source.json",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} CPU cores, {platform.platform()}",
        "sources": list(CLIPS),
        "runs": runs,
        "alone": alone,
    }
    if args.json:
        args.json.write_text(json.dumps(document | code_provenance(__file__), indent=1) + "\n")


if __name__ == "__main__":
    main()
