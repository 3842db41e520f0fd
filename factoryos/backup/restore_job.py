"""A restore the server runs while it keeps serving: in a thread, one at a time, observable.

The API answers 202 with the job and clients poll it. The hooks are the server's part
(pause the poller, turn requests away during the swap, reconnect after); the audit rows
are written here, into the restored database, so every company's chain records that its
data was replaced and still verifies. A failed restore is recorded in the live database.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

from sqlalchemy import make_url

from factoryos.backup.manifest import Backup
from factoryos.backup.restore import restore_backup
from factoryos.backup.restore_audit import record_restore_failed, record_restored
from factoryos.errors import FactoryOSError

log = logging.getLogger(__name__)

JobState = Literal["running", "succeeded", "failed"]

# Verification and pg_restore messages can quote other companies' names, counts or rows:
# the API says what happened, the server log says the details.
_PUBLIC_REASONS = {
    "restore_verify_failed": "the restored copy does not match the backup's manifest or an audit chain does not "
                             "verify; the live database was not changed (the server log names what differs)",
    "restore_failed": "pg_restore could not restore the backup; the live database was not changed "
                      "(the server log has its message)",
}
_UNEXPECTED = "the restore stopped on an unexpected error; the live database was not replaced (see the server log)"


@dataclass(frozen=True)
class Requester:
    """Who asked: recorded in the audit trail, never shown to other companies."""

    tenant_id: UUID
    user_id: UUID
    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass
class RestoreJob:
    backup: str
    backup_created_at: dt.datetime
    requester: Requester
    id: UUID = field(default_factory=uuid.uuid4)
    state: JobState = "running"
    phase: str = "queued"  # verifying, restoring, checking, replacing, recording, done
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    error_code: str | None = None
    error: str | None = None
    warning: str | None = None


class RestoreHooks(Protocol):
    """What the running server does around a restore (each is called from the job's thread)."""

    def started(self, job: RestoreJob) -> None: ...

    def before_swap(self, job: RestoreJob) -> None: ...

    def after_swap(self, job: RestoreJob) -> None: ...

    def finished(self, job: RestoreJob) -> None: ...


def public_reason(exc: BaseException) -> tuple[str, str]:
    """(code, message) of a failed restore, safe to show to the requesting company."""
    if isinstance(exc, FactoryOSError):
        return exc.code, _PUBLIC_REASONS.get(exc.code, str(exc))
    return "restore_failed", _UNEXPECTED


def run_restore(job: RestoreJob, source_url: str, backup: Backup, hooks: RestoreHooks) -> None:
    """Restore `backup` over the database of `source_url` (a superuser URL on it); never raises."""
    database = make_url(source_url).database or ""
    swapping = False

    def phase(message: str) -> None:
        job.phase = message.split(" ", 1)[0]

    def before_swap() -> None:
        nonlocal swapping
        swapping = True
        hooks.before_swap(job)

    try:
        hooks.started(job)
        restore_backup(source_url, database, backup, progress=phase, before_swap=before_swap)
    except Exception as exc:
        if swapping:
            hooks.after_swap(job)
        job.error_code, job.error = public_reason(exc)
        log.error("restore of %s failed (%s): %s", backup.name, job.error_code, exc,
                  exc_info=not isinstance(exc, FactoryOSError))
        try:
            record_restore_failed(source_url, job)
        except Exception:
            log.exception("could not record the failed restore of %s in the audit log", backup.name)
        job.state = "failed"
    else:
        hooks.after_swap(job)
        job.phase = "recording"
        try:
            record_restored(source_url, job)
        except Exception:
            log.exception("restored %s, but could not record it in the audit log", backup.name)
            job.warning = "restored, but the audit rows of the restore could not be written (see the server log)"
        job.state = "succeeded"
        log.info("restored %s while serving", backup.name)
    finally:
        job.finished_at = dt.datetime.now(dt.UTC)
        job.phase = "done"
        hooks.finished(job)
