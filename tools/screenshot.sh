#!/usr/bin/env bash
# A real screenshot of the detector window on a real clip, under a virtual X screen.
# Needs Debian's xvfb and imagemagick: apt-get install -y xvfb imagemagick
# usage: bash tools/screenshot.sh [VIDEO] [OUT.png] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEO=${1:-../shared/data/videos/nomask_man.mp4}
OUT=${2:-docs/screenshot.png}
WAIT=${3:-12}
PY=${PY:-.venv/bin/python}
Xvfb :77 -screen 0 1400x820x24 >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
sleep 2
DISPLAY=:77 $PY -m facemask.cli detect "$VIDEO" --realtime >/dev/null 2>&1 &
DPID=$!
sleep "$WAIT"
DISPLAY=:77 import -window root "$OUT"
kill $DPID 2>/dev/null || true
wait $DPID 2>/dev/null || true
# Trim the empty screen around the window.
convert "$OUT" -trim +repage "$OUT"
echo "wrote $OUT"
