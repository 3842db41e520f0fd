"""Backups over the API: list them, or take one now (the server also takes them on a schedule).

A backup holds every company of the installation, so answers carry file facts only, never
the manifest's per-table counts or other companies' audit heads.
"""

from __future__ import annotations

from factoryos.backup.manifest import Backup
from factoryos.backup.service import BackupService
from factoryos.identity.permissions import INSTALLATION_ADMIN
from factoryos.system.models import BackupCreate, BackupList, BackupOut
from server.api import Context, Router

router = Router(prefix="/api/v1/backup", tags=("system",))

PERMISSION = INSTALLATION_ADMIN  # backups hold every company's data


def backup_out(backup: Backup) -> BackupOut:
    m = backup.manifest
    return BackupOut(
        name=backup.name,
        label=m.label,
        created_at=m.created_at,
        size=m.size,
        sha256=m.sha256,
        factoryos_version=m.factoryos_version,
        schema_revision=m.schema_revision,
    )


def _service(ctx: Context) -> BackupService:
    backups = ctx.state.backups
    assert backups is not None, "set by the server's lifespan"
    return backups


@router.get("", permission=PERMISSION, response=BackupList)
def list_backups(ctx: Context) -> BackupList:
    """Backups in the server's backup directory, newest first, and the schedule."""
    service = _service(ctx)
    return BackupList(
        items=[backup_out(b) for b in service.backups()],
        available=service.available,
        interval_hours=service.interval.total_seconds() / 3600 if service.scheduled and service.interval else None,
        keep_days=service.keep_days,
        last_error=service.last_error,
        running=service.running,
    )


@router.post("/create", permission=PERMISSION, body=BackupCreate, response=BackupOut, status_code=201,
             long_running=True)
def create_backup(ctx: Context, body: BackupCreate) -> BackupOut:
    """Take a backup now (pg_dump custom format + manifest); 409 while another backup or a restore runs."""
    out = backup_out(_service(ctx).create(body.label))
    ctx.audit("create", "backup", out.name, after=out.model_dump(mode="json"))
    return out
