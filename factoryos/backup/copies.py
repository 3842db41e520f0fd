"""Off-host copies: each backup also copied to a folder on other storage (an NFS or SMB mount),
with its own retention, so losing the server's disk does not lose the backups.

A copy is written under a temporary name, checked against the manifest's SHA-256 and only then
given its name, so the copies folder never holds a partial or damaged dump under a real name.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from factoryos.backup.archive import prepare_directory
from factoryos.backup.catalog import prune
from factoryos.backup.manifest import Backup
from factoryos.backup.verify import verify_checksum

log = logging.getLogger(__name__)

_PARTIAL = ".copying"


def copy_backup(backup: Backup, destination: Path) -> Backup:
    """Copy the dump and its manifest into `destination`; returns the verified copy."""
    prepare_directory(destination)
    dump = destination / backup.path.name
    manifest = destination / backup.manifest_path.name
    partial_dump, partial_manifest = dump.with_name(dump.name + _PARTIAL), manifest.with_name(manifest.name + _PARTIAL)
    try:
        shutil.copyfile(backup.path, partial_dump)
        shutil.copyfile(backup.manifest_path, partial_manifest)
        for path in (partial_dump, partial_manifest):
            path.chmod(0o600)
        verify_checksum(Backup(partial_dump, backup.manifest))  # what landed on the other storage
        partial_manifest.replace(manifest)
        partial_dump.replace(dump)  # the dump last: a listed dump always has its manifest
    finally:
        partial_dump.unlink(missing_ok=True)
        partial_manifest.unlink(missing_ok=True)
    log.info("copied backup %s to %s", backup.name, destination)
    return Backup.load(dump)


def copy_and_prune(backup: Backup, destination: Path, keep_days: int) -> list[Backup]:
    """Copy, then remove copies older than `keep_days` (never the newest); returns what was removed."""
    copy_backup(backup, destination)
    return prune(destination, keep_days)
