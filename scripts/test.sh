#!/usr/bin/env bash
# Create the venv if needed, install FactoryOS with its dev extras, run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/foundation -x).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
