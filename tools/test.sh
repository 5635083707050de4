#!/usr/bin/env bash
# Set up a fresh machine and run the test suite: `bash tools/test.sh` (extra args go to pytest).
# Creates .venv, installs the project with its test extras (everything: the train extra's TensorFlow,
# OpenCV, LiteRT, Streamlit, Ray, Playwright) and Debian's Chromium for the browser test, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
stamp="$VENV/.facemask-test-installed"
want="$(cat pyproject.toml tools/test.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then  # install once, again when pyproject.toml or this file changes
    # The venv's bundled setuptools (65 on Python 3.11) predates SPDX licence strings; the wheel test
    # builds with the venv's own setuptools (no download), so it needs the one pyproject.toml asks for.
    "$VENV/bin/python" -m pip install -q --upgrade pip "setuptools>=77"
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
fi
bash .ci/install_chromium.sh
"$VENV/bin/ruff" check .  # lint and format are part of the test: each fails the run on its own
"$VENV/bin/ruff" format --check .
set +e
"$VENV/bin/python" -m pytest -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
