"""GET /api/v1/audit: the company's audit trail (reading it is itself audited)."""

from __future__ import annotations

from factoryos.audit import query as audit_query
from factoryos.system.models import AuditEntry, AuditPage, AuditQuery
from server.api import Context, Router

router = Router(prefix="/api/v1", tags=("audit",))


@router.get("/audit", permission="audit.view", query=AuditQuery, response=AuditPage)
def list_audit(ctx: Context, query: AuditQuery) -> AuditPage:
    """The audit trail, newest first, with filters and cursor pagination."""
    f = audit_query.AuditFilter(query.actor, query.action, query.entity, query.entity_id, query.since, query.until)
    rows, next_cursor = audit_query.page(ctx.conn, ctx.tenant_id, f, limit=query.limit, cursor=query.cursor)
    ctx.audit("view", "audit_log", None, after={"filters": query.model_dump(mode="json", exclude_none=True)})
    return AuditPage(items=[AuditEntry.model_validate(dict(r)) for r in rows], next_cursor=next_cursor)
