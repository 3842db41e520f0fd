#!/bin/sh
# Roles and grants, then migrations to head, then the server; each step is idempotent.
set -eu

# A paired primary whose standby was promoted writes nothing: no roles, no migrations; its server
# answers reads and health and refuses every write (`factoryos standby fence-check` exits 3).
fenced=0
factoryos standby fence-check || fenced=$?
if [ "${fenced}" -ne 3 ]; then
    tries=0
    until factoryos db init; do
        tries=$((tries + 1))
        if [ "${tries}" -ge 10 ]; then
            echo "factoryos db init failed ${tries} times; giving up" >&2
            exit 1
        fi
        sleep 3
    done
    factoryos db upgrade
fi
exec factoryos serve --host 0.0.0.0 --port 8080
