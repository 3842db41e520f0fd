"""Find pg_dump/pg_restore for a server, and hand them a connection without leaking the password.

pgserver ships PostgreSQL 16 client tools with the package, so embedded installs and the
api container need nothing else. pg_dump refuses servers newer than itself, so a newer
one on PATH (e.g. Debian's postgresql-client-17) wins when the server needs it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from sqlalchemy import make_url

from factoryos.backup.errors import BackupError

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL as a libpq URL for `--dbname`, with the password in PGPASSWORD.

    The password stays out of argv, where `ps` would show it to every user of the host.
    """
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    target = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return target, env


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for a PostgreSQL tool (PATH, locale), with `extra` set on top."""
    return dict(os.environ) | extra


def _candidates(name: str) -> list[Path]:
    from factoryos.db.embedded import EmbeddedPostgres

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset
        found = [EmbeddedPostgres.bin_dir() / name]
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    found += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return [p for p in dict.fromkeys(found) if p.is_file()]


@functools.cache
def tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def find_tool(name: str, server_major: int | None = None) -> Path:
    """The first `name` (pgserver's, then PATH) able to talk to a server of `server_major`."""
    found = [(path, tool_major(path)) for path in _candidates(name)]
    for path, major in found:
        if major is not None and (server_major is None or major >= server_major):
            return path
    have = ", ".join(f"{p} ({m})" for p, m in found) or "none"
    needed = f" for PostgreSQL {server_major}" if server_major else ""
    raise BackupError(
        f"no usable {name}{needed} (found: {have}): install the PostgreSQL client tools of the server's version",
        code="backup_tool_missing",
    )
