#!/usr/bin/env bash
# Create the venv if needed, install FactoryOS with its dev extras and run the tests.
# Default: the fast suite (`-m "not slow"`), the inner loop while you work. `--all` runs
# everything, slow tests included (what CI runs). Other arguments go to pytest, e.g.
# `scripts/test.sh tests/foundation -x`; a `-m` of your own replaces the default selection.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
select=(-m "not slow")
args=()
for arg in "$@"; do
  if [ "$arg" = "--all" ]; then select=(); else args+=("$arg"); fi
done
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Install only when pyproject.toml changed since the last install: the inner loop skips pip.
stamp=.venv/.factoryos-dev-installed
want=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider ${select[@]+"${select[@]}"} ${args[@]+"${args[@]}"}
