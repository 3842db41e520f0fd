"""Backups: pg_dump custom-format archives with a manifest, verified restores, retention.

A backup is two files in the backup directory: `NAME.dump` (pg_dump custom format) and
`NAME.json` (the manifest: SHA-256, size, schema revision, row counts per table, audit
chain heads). Dumps run as the database superuser because every tenant table forces
row-level security, even for its owner.
"""

from factoryos.backup.catalog import backup_dir, find_backup, list_backups, prune
from factoryos.backup.create import create_backup
from factoryos.backup.errors import BackupError, BackupInvalid, RestoreFailed
from factoryos.backup.manifest import Backup, Manifest
from factoryos.backup.restore import RestoreReport, restore_backup
from factoryos.backup.verify import verify_backup

__all__ = [
    "Backup",
    "BackupError",
    "BackupInvalid",
    "Manifest",
    "RestoreFailed",
    "RestoreReport",
    "backup_dir",
    "create_backup",
    "find_backup",
    "list_backups",
    "prune",
    "restore_backup",
    "verify_backup",
]
