"""Restoring a backup through the API while the server keeps running.

POST starts the restore as a job on the server and answers 202; GET `…/restore/{id}` is its
status, for the requesting company only. The request's own transaction cannot do the work:
the swap terminates every connection to the database, that one included. For the same reason
the job writes the audit rows itself, into the restored database (a row written in this
request's transaction would be replaced along with everything else), or, when the restore
fails, into the live one. Answers never carry another company's names or figures.
"""

from __future__ import annotations

from uuid import UUID

from factoryos.backup.restore_job import Requester, RestoreJob
from factoryos.backup.service import BackupService
from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.identity.permissions import INSTALLATION_ADMIN
from factoryos.system.models import RestoreIn, RestoreOut
from server.api import Context, Router
from server.restore_hooks import ServerRestoreHooks

router = Router(prefix="/api/v1/backup", tags=("system",))

PERMISSION = INSTALLATION_ADMIN  # backups hold every company's data


def restore_out(job: RestoreJob) -> RestoreOut:
    return RestoreOut(
        id=job.id, backup=job.backup, backup_created_at=job.backup_created_at, state=job.state, phase=job.phase,
        started_at=job.started_at, finished_at=job.finished_at, error_code=job.error_code, error=job.error,
        warning=job.warning,
    )


def _service(ctx: Context) -> BackupService:
    backups = ctx.state.backups
    assert backups is not None, "set by the server's lifespan"
    return backups


@router.post("/restore", permission=PERMISSION, body=RestoreIn, response=RestoreOut, status_code=202)
def start_restore(ctx: Context, body: RestoreIn) -> RestoreOut:
    """Replace the database with a backup (verified in a scratch database first); 409 while another backup or
    restore runs. Poll the answer's id."""
    if body.confirm != body.name:
        raise ValidationFailed("confirm: type the backup's name exactly to confirm the restore",
                               code="restore_not_confirmed", field="confirm")  # fmt: skip
    if ctx.state.settings.workers > 1:
        # The swap pauses the poller and holds requests in this process only: the other
        # workers would keep writing to the database being replaced.
        raise Conflict("restores through the server need a single server process: restart it with --workers 1, "
                       "or stop it and run `factoryos backup restore NAME` on the host",
                       code="restore_needs_one_worker")  # fmt: skip
    assert ctx.user_id is not None
    requester = Requester(ctx.tenant_id, ctx.user_id, ctx.client_ip, ctx.user_agent, ctx.request_id)
    job = _service(ctx).start_restore(body.name, requester, ServerRestoreHooks(ctx.state))
    return restore_out(job)


@router.get("/restore/{job_id:uuid}", permission=PERMISSION, response=RestoreOut)
def restore_status(ctx: Context, job_id: UUID) -> RestoreOut:
    """How a restore this company started is going (kept in the server's memory until it restarts)."""
    job = _service(ctx).restore_job(job_id)
    if job is None or job.requester.tenant_id != ctx.tenant_id:
        raise NotFound(f"no restore {job_id} on this server", code="restore_not_found")
    return restore_out(job)
