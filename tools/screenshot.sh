#!/usr/bin/env bash
# A real screenshot of the detector window on a real clip, under a virtual X screen.
# Needs Debian's xvfb and imagemagick: apt-get install -y xvfb imagemagick
# usage: bash tools/screenshot.sh [VIDEO] [OUT.jpg] [SECONDS_AFTER_THE_WINDOW_APPEARS]
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEO=${1:-../shared/data/videos/nomask_man.mp4}
OUT=${2:-docs/screenshot.jpg}
AFTER=${3:-2}
PY=${PY:-.venv/bin/python}
Xvfb :77 -screen 0 1400x820x24 >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
sleep 2
DISPLAY=:77 $PY -m facemask.cli detect "$VIDEO" --realtime >/dev/null 2>&1 &
DPID=$!
shot=$(mktemp --suffix=.png)
for _ in $(seq 1 60); do  # wait for the window to draw something
  sleep 0.5
  DISPLAY=:77 import -window root "$shot"
  [ "$(identify -format '%[fx:mean>0.05]' "$shot")" = 1 ] && break
done
sleep "$AFTER"
DISPLAY=:77 import -window root "$shot"
kill $DPID 2>/dev/null || true
wait $DPID 2>/dev/null || true
convert "$shot" -trim +repage -resize '960x>' -quality 85 "$OUT"
rm -f "$shot"
echo "wrote $OUT"
