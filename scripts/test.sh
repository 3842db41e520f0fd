#!/usr/bin/env bash
# Create the venv if needed, install FactoryOS with its dev extras and run the tests.
# Default: the fast suite (`-m "not slow"`), the inner loop while you work. `--all` runs
# everything, slow tests included (what CI runs). Other arguments go to pytest, e.g.
# `scripts/test.sh tests/foundation -x`; a `-m` of your own replaces the default selection.
# Tests run in FACTORYOS_TEST_WORKERS processes (pytest-xdist), a test file at a time; each process
# has its own embedded PostgreSQL and servers (tests/conftest.py). The default is one more than the
# cores: a test waits on its servers, sockets and database about half its time, so one worker per
# core left the cores idle (2 cores: 344 s with 2 workers, 272 s with 3). 0 runs them in this one
# process (e.g. for `--pdb`); a `-n` of your own wins too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
select=(-m "not slow")
cores=$(nproc 2>/dev/null || echo 1)
count=${FACTORYOS_TEST_WORKERS:-$((cores + 1))}
workers=(-n "$count" --dist loadgroup)
args=()
for arg in "$@"; do
  case "$arg" in
    --all) select=() ;;
    -m|-m*) select=(); args+=("$arg") ;;
    -n|-n*|--numprocesses|--numprocesses=*|--pdb|--trace) workers=(); args+=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$count" = 0 ]; then workers=(); fi
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
exec .venv/bin/python -m pytest -q -p no:cacheprovider ${workers[@]+"${workers[@]}"} ${select[@]+"${select[@]}"} \
  ${args[@]+"${args[@]}"}
