"""A stable, non-reversible identifier of the host a license may be bound to."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

# Inside a container the host's identifier is handed over by the installer. Read from the
# environment, not Settings: the installer and the license verifier call this on the host too.
HOST_ID_ENV = "FACTORYOS_HOST_ID"
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def host_id() -> str:
    """sha256 of the systemd machine id (falls back to the host name)."""
    explicit = os.environ.get(HOST_ID_ENV)
    if explicit:
        return explicit
    for path in MACHINE_ID_FILES:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw:
            return _digest(raw)
    return _digest(socket.gethostname())


def _digest(raw: str) -> str:
    return hashlib.sha256(f"factoryos-host:{raw}".encode()).hexdigest()[:32]
