"""`backup verify`: the file is the one the manifest describes, and pg_restore can read it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from factoryos.backup.archive import sha256_of
from factoryos.backup.errors import BackupInvalid
from factoryos.backup.manifest import Backup
from factoryos.backup.pgtools import find_tool


def verify_checksum(backup: Backup) -> None:
    try:
        size = backup.path.stat().st_size
        digest = sha256_of(backup.path)
    except OSError as exc:
        raise BackupInvalid(f"backup {backup.path} cannot be read: {exc.strerror}", code="backup_missing") from None
    if size != backup.manifest.size:
        raise BackupInvalid(
            f"backup {backup.path.name} is damaged: {size} bytes, the manifest says {backup.manifest.size}",
            code="backup_size_mismatch",
        )
    if digest != backup.manifest.sha256:
        raise BackupInvalid(
            f"backup {backup.path.name} is damaged: its SHA-256 does not match the manifest",
            code="backup_checksum_mismatch",
        )


def verify_readable(path: Path) -> int:
    """`pg_restore --list` reads the archive's table of contents; returns its entry count."""
    run = subprocess.run(
        [str(find_tool("pg_restore")), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        raise BackupInvalid(
            f"backup {path.name} is not a readable pg_dump archive: {lines[-1] if lines else 'pg_restore failed'}",
            code="backup_unreadable",
        )
    return sum(1 for line in run.stdout.splitlines() if line and not line.startswith(";"))


def verify_backup(backup: Backup | Path) -> Backup:
    """Checksum, size and readability; raises BackupInvalid naming what is wrong."""
    found = backup if isinstance(backup, Backup) else Backup.load(backup)
    verify_checksum(found)
    verify_readable(found.path)
    return found
