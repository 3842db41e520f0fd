"""GET /api/v1/audit: the company's audit trail (reading it is itself audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from factoryos.audit import query as audit_query
from server.api import Context, Router

router = Router(prefix="/api/v1", tags=("audit",))


class AuditQuery(BaseModel):
    actor: UUID | None = Field(None, description="Actor user id.")
    action: str | None = Field(None, max_length=40)
    entity: str | None = Field(None, max_length=80, description="Entity type, e.g. machine.")
    entity_id: str | None = Field(None, max_length=80)
    since: datetime | None = Field(None, alias="from", description="Inclusive start (ISO 8601).")
    until: datetime | None = Field(None, alias="to", description="Exclusive end (ISO 8601).")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)


class AuditEntry(BaseModel):
    seq: int
    ts: datetime
    actor_id: UUID | None
    action: str
    entity_type: str
    entity_id: str | None
    before: Any
    after: Any
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    prev_hash: str
    row_hash: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


@router.get("/audit", permission="audit.view", query=AuditQuery, response=AuditPage)
def list_audit(ctx: Context, query: AuditQuery) -> AuditPage:
    """The audit trail, newest first, with filters and cursor pagination."""
    f = audit_query.AuditFilter(query.actor, query.action, query.entity, query.entity_id, query.since, query.until)
    rows, next_cursor = audit_query.page(ctx.conn, ctx.tenant_id, f, limit=query.limit, cursor=query.cursor)
    ctx.audit("view", "audit_log", None, after={"filters": query.model_dump(mode="json", exclude_none=True)})
    return AuditPage(items=[AuditEntry.model_validate(dict(r)) for r in rows], next_cursor=next_cursor)
