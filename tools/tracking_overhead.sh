#!/usr/bin/env bash
# Frame rate with tracking + violation events against without, interleaved in one run.
# usage: bash tools/tracking_overhead.sh [VIDEO ...]   (JSON in docs/bench/tracking_overhead/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=docs/bench/tracking_overhead
mkdir -p "$OUT"
for video in "${@:-../shared/data/videos/nomask_man.mp4 ../shared/data/videos/dancers_nomask.mp4}"; do
  for v in $video; do
    name=$(basename "$v" .mp4)
    for rep in 1 2 3; do
      $PY -m facemask.cli benchmark "$v" --frames 500 --no-track --json "$OUT/${name}_notrack_$rep.json" >/dev/null 2>&1
      $PY -m facemask.cli benchmark "$v" --frames 500 --json "$OUT/${name}_track_events_$rep.json" >/dev/null 2>&1
    done
  done
done
$PY - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1]); rows = {}
for f in sorted(out.glob("*_[0-9].json")):
    name, kind = f.stem.rsplit("_", 1)[0].split("_notrack")[0].split("_track_events")[0], ("track" if "track_events" in f.stem else "notrack")
    rows.setdefault(name, {}).setdefault(kind, []).append(json.loads(f.read_text())["fps"])
summary = {n: {**r, "ratio_of_means": round(sum(r["track"]) / len(r["track"]) / (sum(r["notrack"]) / len(r["notrack"])), 3)} for n, r in rows.items()}
(out / "summary.json").write_text(json.dumps(summary, indent=1)); print(json.dumps(summary))
PY
