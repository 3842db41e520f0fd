"""Database dumps through the compose `postgres` service (pg_dump custom format).

The file handling is factoryos.backup's: the same manifest (SHA-256, size) beside the
dump, the same atomic write that never leaves a partial file, the same checksum check,
so `factoryos backup verify` reads these dumps too. Only the transport differs: pg_dump
and pg_restore run inside the container, through `docker compose exec`.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

from factoryos.backup.archive import prepare_directory, write_stream
from factoryos.backup.manifest import Backup, Manifest, write_manifest
from factoryos.backup.verify import verify_checksum
from installer.errors import InstallError
from installer.stack import Stack

DATABASE = "factoryos"

Dump = Backup


def create_dump(stack: Stack, directory: Path, *, label: str, version: str) -> Dump:
    prepare_directory(directory)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = directory / f"{label}-{version}-{created:%Y%m%dT%H%M%SZ}.dump"
    command = stack.command("exec", "-T", "postgres", "pg_dump", "--username=postgres", "--format=custom", DATABASE)
    written = write_stream(command, path)
    manifest = Manifest(file=path.name, label=label, factoryos_version=version, created_at=created,
                        database=DATABASE, sha256=written.sha256, size=written.size)  # fmt: skip
    try:
        written_manifest = write_manifest(manifest, path)
        # The api lists and restores backups from this folder too: same owner as the folder.
        owner = directory.stat()
        if os.geteuid() == 0:
            for item in (path, written_manifest):
                os.chown(item, owner.st_uid, owner.st_gid)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise InstallError(f"writing the manifest of {path.name} failed: {exc.strerror}", code="backup_failed") from None
    return Dump(path, manifest)


def verify_dump(dump: Dump) -> None:
    verify_checksum(dump)


def restore_dump(stack: Stack, dump: Dump) -> None:
    """Replace the database with the dump; the API must be stopped (it is, by the caller)."""
    verify_dump(dump)
    drop = stack.run(
        "exec", "-T", "postgres", "psql", "--username=postgres", "--dbname=postgres", "-v", "ON_ERROR_STOP=1",
        "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)",
    )  # fmt: skip
    if drop.returncode != 0:
        raise InstallError(f"dropping the database failed: {drop.stderr.strip()}", code="restore_failed")
    # --create recreates the database with its owner, settings and grants from the dump.
    command = stack.command(
        "exec",
        "-T",
        "postgres",
        "pg_restore",
        "--username=postgres",
        "--dbname=postgres",
        "--create",
        "--exit-on-error",
    )
    with dump.path.open("rb") as source:
        run = subprocess.run(command, stdin=source, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise InstallError(f"pg_restore failed: {run.stderr.strip()[-500:]}", code="restore_failed")
