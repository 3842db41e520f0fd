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
# The SSO tests' OpenID Provider (the oidc-provider npm package, pinned by its lockfile), from the
# npm registry this machine is configured with; Node 20+ is needed. Installed once per lockfile.
harness=tests/sso/oidc_provider
lock=$(sha256sum "$harness/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$harness/node_modules/.factoryos-lock" 2>/dev/null)" != "$lock" ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --prefix "$harness" --no-audit --no-fund --loglevel=error && echo "$lock" > "$harness/node_modules/.factoryos-lock"
  else
    echo "npm not found: the OpenID Connect tests will fail (install Node 20+ and npm)" >&2
  fi
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider ${select[@]+"${select[@]}"} ${args[@]+"${args[@]}"}
