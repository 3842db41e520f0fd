"""The audit rows of a restore run by the server.

A restore replaces every company's data, so each company's chain in the restored database
gets one `restore` row (the requester is named only in their own company's). A failed
restore changed nothing: one `restore_failed` row in the requester's chain of the live
database. Written as the superuser the restore ran as (it sees every company).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, pool, select

from factoryos.audit.writer import AuditEvent, record
from factoryos.config import normalize_db_url
from factoryos.schema.tenancy import companies

if TYPE_CHECKING:
    from factoryos.backup.restore_job import RestoreJob

ENTITY = "backup"


def _event(job: RestoreJob, tenant_id: Any, action: str, after: dict[str, Any]) -> AuditEvent:
    own = tenant_id == job.requester.tenant_id
    who = job.requester
    return AuditEvent(
        tenant_id=tenant_id,
        action=action,
        entity_type=ENTITY,
        entity_id=job.backup,
        actor_id=who.user_id if own else None,
        after=after if own else after | {"requested_by": "an administrator of another company"},
        client_ip=who.client_ip if own else None,
        user_agent=who.user_agent if own else None,
        request_id=who.request_id if own else None,
    )


def _write(source_url: str, events: Any) -> int:
    engine = create_engine(normalize_db_url(source_url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            written = 0
            for event in events(conn):
                record(conn, event)
                written += 1
            return written
    finally:
        engine.dispose()


def record_restored(source_url: str, job: RestoreJob) -> int:
    """One `restore` row per company of the (now restored) database; returns how many."""
    after = {"backup": job.backup, "backup_created_at": job.backup_created_at.isoformat(),
             "restored_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip

    def events(conn: Any) -> list[AuditEvent]:
        tenants = conn.execute(select(companies.c.tenant_id).order_by(companies.c.tenant_id)).scalars()
        return [_event(job, tenant, "restore", after) for tenant in tenants]

    return _write(source_url, events)


def record_restore_failed(source_url: str, job: RestoreJob) -> int:
    after = {"backup": job.backup, "error_code": job.error_code, "error": job.error}

    def events(conn: Any) -> list[AuditEvent]:
        known = conn.execute(select(companies.c.tenant_id).where(companies.c.tenant_id == job.requester.tenant_id))
        return [_event(job, tenant, "restore_failed", after) for tenant in known.scalars()]

    return _write(source_url, events)
