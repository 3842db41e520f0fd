"""Reason trees per company: category → reason → sub-reason, each tagged with its loss
bucket and planned/unplanned. The default tree (six big losses) is added on first use."""

from __future__ import annotations

import re
from typing import Literal
from uuid import UUID

from sqlalchemy import Connection, RowMapping, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.patching import changes
from factoryos.production.loss_models import ReasonIn, ReasonPatch, ReasonQuery
from factoryos.production.reason_defaults import DEFAULT_REASONS, DefaultReason
from factoryos.schema.production import loss_reasons as lr

LEVELS = ("category", "reason", "sub_reason")
Purpose = Literal["downtime", "rejection"]
BUCKETS_FOR: dict[str, frozenset[str]] = {
    "downtime": frozenset({"availability", "performance"}),
    "rejection": frozenset({"quality"}),
}


class Reasons(TenantRepository[RowMapping]):
    table = lr
    entity = "reason"


def ensure_defaults(conn: Connection, tenant_id: UUID) -> None:
    """Seed the default tree once per company (concurrent first requests are harmless)."""
    if conn.execute(select(exists().where(lr.c.tenant_id == tenant_id))).scalar():
        return

    def add(node: DefaultReason, parent: UUID | None, depth: int, bucket: str, planned: bool) -> None:
        code, name, own_bucket, own_planned, children = node
        bucket = own_bucket or bucket
        planned = own_planned or planned
        conn.execute(
            pg_insert(lr).values(tenant_id=tenant_id, parent_id=parent, level=LEVELS[depth], code=code, name=name,
                                 loss_bucket=bucket, planned=planned).on_conflict_do_nothing()
        )
        row_id = conn.execute(select(lr.c.id).where(lr.c.tenant_id == tenant_id, lr.c.code == code)).scalar_one()
        for child in children:
            add(child, row_id, depth + 1, bucket, planned)

    for category in DEFAULT_REASONS:
        add(category, None, 0, "", False)


def list_reasons(conn: Connection, tenant_id: UUID, query: ReasonQuery) -> Page:
    ensure_defaults(conn, tenant_id)
    filters = ("loss_bucket", "planned", "level", "parent_id", "active")
    clauses = [lr.c[name] == getattr(query, name) for name in filters if getattr(query, name) is not None]
    return Reasons(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name", "code")
    )


def _code_for(parent_code: str | None, name: str) -> str:
    slug = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")[:30] or "REASON"
    return f"{parent_code}.{slug}" if parent_code else slug


def create_reason(conn: Connection, tenant_id: UUID, data: ReasonIn) -> RowMapping:
    ensure_defaults(conn, tenant_id)
    repo = Reasons(conn, tenant_id)
    if data.parent_id is None:
        if data.loss_bucket is None or data.planned is None:
            missing = "loss_bucket" if data.loss_bucket is None else "planned"
            raise ValidationFailed("a category needs loss_bucket and planned", code="reason_tags_required",
                                   field=missing)
        level, parent_code, bucket, planned = "category", None, data.loss_bucket, data.planned
    else:
        parent = repo.get(data.parent_id)
        if parent is None:
            raise ValidationFailed(f"reason {data.parent_id} not found", code="reason_not_found", field="parent_id")
        if parent["level"] == "sub_reason":
            raise ValidationFailed("reason trees are three levels deep: a sub-reason has no children",
                                   code="reason_too_deep", field="parent_id")
        level = LEVELS[LEVELS.index(parent["level"]) + 1]
        parent_code = parent["code"]
        bucket = data.loss_bucket or parent["loss_bucket"]
        planned = parent["planned"] if data.planned is None else data.planned
    code = data.code or _code_for(parent_code, data.name)
    taken = Conflict(f"a reason with code {code!r} already exists", code="reason_code_taken", field="code")
    with constraint_errors(conn, {"uq_loss_reasons_tenant_code": taken}):
        return repo.insert(parent_id=data.parent_id, level=level, code=code, name=data.name,
                           loss_bucket=bucket, planned=planned)


def update_reason(
    conn: Connection, tenant_id: UUID, reason_id: UUID, patch: ReasonPatch
) -> tuple[RowMapping, RowMapping]:
    repo = Reasons(conn, tenant_id)
    before = repo.require(reason_id, for_update=True)
    values = changes(patch)
    if not values:
        return before, before
    after = repo.update(reason_id, **values)
    assert after is not None
    return before, after


def require_reason(conn: Connection, tenant_id: UUID, reason_id: UUID, purpose: Purpose,
                   field: str = "reason_id") -> RowMapping:
    """An active reason fit for `purpose` (downtime: availability/performance; rejection: quality)."""
    ensure_defaults(conn, tenant_id)
    row = Reasons(conn, tenant_id).get(reason_id)
    if row is None:
        raise ValidationFailed(f"reason {reason_id} not found", code="reason_not_found", field=field)
    if not row["active"]:
        raise ValidationFailed(f"reason {row['code']} is no longer in use", code="reason_inactive", field=field)
    if row["loss_bucket"] not in BUCKETS_FOR[purpose]:
        wanted = " or ".join(sorted(BUCKETS_FOR[purpose]))
        raise ValidationFailed(
            f"reason {row['code']} is a {row['loss_bucket']} loss; a {purpose} needs a {wanted} reason",
            code="reason_wrong_bucket", field=field,
        )
    return row
