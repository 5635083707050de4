"""`facemask batch` on a local Ray cluster against the same files run one after another in-process (issue 22).

The archive is the five shared clips, twice each (copies, so ten files). Both runs happen here,
back to back: first the in-process path (what runs without the `cluster` extra: Ray's import
blocked), then Ray with 2 workers, one thread each (OMP_NUM_THREADS=1, cv2.setNumThreads(1),
LiteRT num_threads=1). The in-process run keeps the default threads, two for OpenCV and LiteRT.
Each file's JSON Lines are also compared with a plain `facemask detect FILE --json` run.
Run it when nothing else runs: it is a speed figure.

usage: python tools/batch_bench.py [--json docs/bench/batch_ray.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_cli import REPO, detect

from facemask.evaluation.provenance import code_provenance

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
NO_RAY = "import sys; sys.modules['ray'] = None; from facemask.cli import main; sys.exit(main(sys.argv[1:]))"


def _batch(archive: Path, out: Path, in_process: bool) -> tuple[float, dict]:
    """Wall seconds of one `facemask batch` run (models, and Ray's start, included) and its report."""
    head = [sys.executable, "-c", NO_RAY] if in_process else [sys.executable, "-m", "facemask.cli"]
    argv = [*head, "batch", str(archive), "--output", str(out), *([] if in_process else ["--workers", "2"])]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"batch failed: {proc.stderr[-800:]}")
    return wall, json.loads((out / "report.json").read_text())


def _busy(report: dict) -> float:
    return round(sum(row["seconds"] for row in report["files"]), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    clips = sorted(VIDEOS.glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp, "archive")
        archive.mkdir()
        for clip in clips:
            for copy in ("a", "b"):
                shutil.copyfile(clip, archive / f"{clip.stem}_{copy}.mp4")
        seq_s, seq = _batch(archive, Path(tmp, "seq"), in_process=True)
        ray_s, ray = _batch(archive, Path(tmp, "ray"), in_process=False)
        same = {}
        for clip in clips:
            alone = Path(tmp, f"{clip.stem}.jsonl")
            detect(clip, "--json", str(alone), what=clip.name, timeout=600)
            lines = alone.read_text()
            same[clip.name] = all(
                Path(tmp, run, f"{clip.stem}_{c}.jsonl").read_text() == lines for run in ("seq", "ray") for c in "ab"
            )
    nodes = sorted({row["node"] for row in ray["files"]})
    document = {
        "what": "facemask batch: ten files (the five shared clips, twice each), in-process one after another "
        "vs local Ray with 2 workers of one thread each; default model; wall time including start-up",
        "command": "python tools/batch_bench.py --json docs/bench/batch_ray.json",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{os.cpu_count()} CPU cores, {platform.platform()}",
        "sequential_s": round(seq_s, 1),
        "ray_2_workers_s": round(ray_s, 1),
        "throughput_ratio": round(seq_s / ray_s, 2),
        # Without the fixed costs (Ray's start, the workers' model loading, the shutdown): the sum of the
        # per-file seconds, over the number of workers for Ray.
        "per_file_s": {"sequential": _busy(seq), "ray_2_workers": round(_busy(ray) / 2, 1)},
        "processing_ratio": round(_busy(seq) / (_busy(ray) / 2), 2),
        "ray_nodes": nodes,
        "jsonl_identical_to_detect": same,
        "totals": {"sequential": seq["totals"], "ray": ray["totals"]},
    }
    print(
        json.dumps(
            {k: document[k] for k in ("sequential_s", "ray_2_workers_s", "throughput_ratio", "processing_ratio")}
        )
    )
    print("per-file JSON Lines identical to `facemask detect`:", same)
    if args.json:
        args.json.write_text(json.dumps(document | code_provenance(__file__), indent=1) + "\n")


if __name__ == "__main__":
    main()
