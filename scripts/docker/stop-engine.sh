#!/usr/bin/env bash
# Stop the engine started by start-engine.sh: by its PID, never by process name.
# --purge also removes its data root (images, volumes); the debootstrap cache stays.
set -euo pipefail

STATE_DIR="${FACTORYOS_DOCKER_STATE:-/var/lib/factoryos-ci/docker}"
PIDFILE="${STATE_DIR}/dockerd.pid"

if [[ -s "${PIDFILE}" ]]; then
    PID="$(cat "${PIDFILE}")"
    if kill -0 "${PID}" 2>/dev/null; then
        kill -TERM "${PID}"
        for _ in $(seq 1 60); do
            kill -0 "${PID}" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "${PID}" 2>/dev/null; then
            echo "dockerd (pid ${PID}) ignored SIGTERM for 30 s; sending SIGKILL" >&2
            kill -KILL "${PID}"
        fi
    fi
    rm -f "${PIDFILE}"
else
    echo "no dockerd pidfile at ${PIDFILE}; nothing to stop" >&2
fi

if [[ "${1:-}" == "--purge" ]]; then
    rm -rf "${STATE_DIR}/data" "${STATE_DIR}/exec"
fi
