#!/usr/bin/env bash
# Set up a fresh machine and start the detector: `bash tools/run.sh` (webcam 0), or
# `bash tools/run.sh path/to/video.mp4 [more facemask detect options]`.
# Options alone (`bash tools/run.sh --no-display`) also mean webcam 0. Without a display
# (a server, SSH, CI) the run goes headless with --no-display and says so.
# The project is installed into $VENV once, and again only when pyproject.toml changes: the runtime
# only (OpenCV, LiteRT, PyAV; no TensorFlow), which is all detect needs. Training is one more line, printed then.
# Paths in the arguments are relative to the folder you run it from.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV=${VENV:-$ROOT/.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
stamp="$VENV/.facemask-installed"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing facemask into $VENV (once; again only when pyproject.toml changes)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT"
    echo "$want" > "$stamp"
    echo "installed the detector; to train or export models too (adds TensorFlow):" \
        "$VENV/bin/pip install -e '$ROOT[train]'" >&2
fi
args=("$@")
if [ ${#args[@]} -eq 0 ] || [[ "${args[0]}" == -* ]]; then
    args=(0 "${args[@]}")  # no SOURCE: webcam 0
fi
if [ "$(uname)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    case " ${args[*]} " in
        *" --no-display "*|*" --display "*) ;;
        *) echo "note: no display found; running with --no-display (results go to --output/--json)" >&2
           args+=(--no-display) ;;
    esac
fi
exec "$VENV/bin/facemask" detect "${args[@]}"
