"""Backup failures, each with a stable code the CLI and the API report."""

from __future__ import annotations

from factoryos.errors import FactoryOSError


class BackupError(FactoryOSError):
    code = "backup_failed"
    status = 500
    title = "Backup failed"


class BackupInvalid(BackupError):
    """The backup file or its manifest cannot be trusted."""

    code = "backup_invalid"
    status = 422
    title = "Backup rejected"


class RestoreFailed(BackupError):
    code = "restore_failed"
    title = "Restore failed"
