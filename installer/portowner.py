"""Name the process listening on a TCP port, from /proc, so "port busy" says by whom."""

from __future__ import annotations

import os
from pathlib import Path

_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def port_owner(port: int) -> str | None:
    """ "name (pid N)" of a process listening on `port`, if this user may see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                if os.readlink(f"{fd_dir}/{fd}") in targets:
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"{name} (pid {pid})"
        except OSError:
            continue
    return None
