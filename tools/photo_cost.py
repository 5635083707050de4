"""A whole photo run's cost: `facemask detect FOLDER` with the photo preset, against res10's fast preset.

    python tools/photo_cost.py [--folder runs/mosaics/test/images] [--rounds 3] [--json docs/bench/photo_cost.json]

Each round runs both commands as a user would (a subprocess: start-up, model loading, decoding,
detection, classification, the annotated images and the JSON document), one after the other, and
the ratio of their wall times is taken per round, so drift on a shared machine cancels out. The
figure is the median ratio over the rounds. The folder defaults to the test mosaics of
tools/make_mosaics.py: photos of 800-1,400 px, the size users bring.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facemask.evaluation.provenance import code_provenance

REPO = Path(__file__).resolve().parents[1]
RUNS = {
    "photo preset": [],
    "res10 fast": ["--face-detector", "res10", "--detector-mode", "fast"],
}


def timed(folder: Path, extra: list[str]) -> float:
    """Wall seconds of one `facemask detect` over the folder, writing annotated images and JSON."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "facemask", "detect", str(folder), "--output", f"{out}/annotated"]
        start = time.perf_counter()
        subprocess.run([*command, "--json", f"{out}/results.json", *extra], check=True, capture_output=True)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=REPO / "runs" / "mosaics" / "test" / "images")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "bench" / "photo_cost.json")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder}: no such folder (tools/make_mosaics.py makes the test mosaics)", file=sys.stderr)
        return 2
    rounds = []
    for _ in range(args.rounds):
        seconds = {name: round(timed(args.folder, extra), 2) for name, extra in RUNS.items()}
        rounds.append(seconds | {"ratio": round(seconds["photo preset"] / seconds["res10 fast"], 2)})
        print(rounds[-1], flush=True)
    report = {
        "command": "python tools/photo_cost.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "folder": str(args.folder.relative_to(REPO) if args.folder.is_relative_to(REPO) else args.folder),
        "images": sum(1 for p in args.folder.iterdir() if p.is_file()),
        "rounds": rounds,
        "ratio_median": statistics.median(r["ratio"] for r in rounds),
    }
    args.json.write_text(json.dumps(report | code_provenance(__file__), indent=1) + "\n")
    print(f"photo preset / res10 fast, whole runs: median {report['ratio_median']}x over {len(rounds)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
