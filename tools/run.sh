#!/usr/bin/env bash
# Set up a fresh machine and start the detector: `bash tools/run.sh` (webcam 0), or
# `bash tools/run.sh path/to/video.mp4 [more facemask detect options]`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e .
exec "$VENV/bin/facemask" detect "${@:-0}"
