"""Reading the audit log: filters and keyset pagination, newest first."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, select

from factoryos.errors import ValidationFailed
from factoryos.schema.audit import audit_log


@dataclass(frozen=True)
class AuditFilter:
    actor_id: UUID | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(tenant_id: UUID, f: AuditFilter) -> list:
    c = audit_log.c
    where = [c.tenant_id == tenant_id]
    if f.actor_id:
        where.append(c.actor_id == f.actor_id)
    if f.action:
        where.append(c.action == f.action)
    if f.entity_type:
        where.append(c.entity_type == f.entity_type)
    if f.entity_id:
        where.append(c.entity_id == f.entity_id)
    if f.since:
        where.append(c.ts >= f.since)
    if f.until:
        where.append(c.ts < f.until)
    return where


def encode_seq(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_seq(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, value = raw.split(":", 1)
        if tag != "seq":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("invalid pagination cursor", code="invalid_cursor", field="cursor") from None


def page(
    conn: Connection, tenant_id: UUID, f: AuditFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[RowMapping], str | None]:
    where = _where(tenant_id, f)
    if cursor:
        where.append(audit_log.c.seq < decode_seq(cursor))
    stmt = select(audit_log).where(*where).order_by(audit_log.c.seq.desc()).limit(limit + 1)
    rows = list(conn.execute(stmt).mappings())
    if len(rows) > limit:
        return rows[:limit], encode_seq(rows[limit - 1]["seq"])
    return rows, None


def stream(conn: Connection, tenant_id: UUID, f: AuditFilter, *, batch: int = 2000) -> Iterator[RowMapping]:
    """Oldest first, in bounded memory (server-side cursor)."""
    stmt = select(audit_log).where(*_where(tenant_id, f)).order_by(audit_log.c.seq).execution_options(yield_per=batch)
    yield from conn.execute(stmt).mappings()
