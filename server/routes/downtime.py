"""Downtime events (manual and machine-detected) and the company's reason tree."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import RowMapping

from factoryos.plant.listing import Page
from factoryos.production import downtime, reasons
from factoryos.production.loss_models import (
    DowntimeIn,
    DowntimeOut,
    DowntimePatch,
    DowntimeQuery,
    ReasonAssign,
    ReasonIn,
    ReasonOut,
    ReasonPatch,
    ReasonQuery,
)
from server.api import Context, Router

router = Router(prefix="/api/v1/downtime", tags=("downtime",))

VIEW = "assets.view"
ENTRY = "production.entry"
PLAN = "production.plan"


def _reason(row: RowMapping) -> ReasonOut:
    return ReasonOut.model_validate(dict(row))


@router.get("", permission=VIEW, query=DowntimeQuery, response=Page[DowntimeOut])
def list_downtime(ctx: Context, query: DowntimeQuery) -> Page[DowntimeOut]:
    """Downtime events by machine, site, time, source or whether they still need a reason."""
    page = downtime.list_downtime(ctx.conn, ctx.tenant_id, query)
    return Page[DowntimeOut](items=[downtime.downtime_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("", permission=ENTRY, body=DowntimeIn, response=DowntimeOut, status_code=201)
def create_downtime(ctx: Context, body: DowntimeIn) -> DowntimeOut:
    """Record a stop by hand (open while the machine is still down)."""
    row = downtime.create_downtime(ctx.conn, ctx.tenant_id, ctx.user_id, body, datetime.now(UTC))
    out = downtime.downtime_out(row)
    ctx.audit("create", "downtime", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/{event_id:uuid}", permission=VIEW, response=DowntimeOut)
def get_downtime(ctx: Context, event_id: UUID) -> DowntimeOut:
    """One downtime event."""
    return downtime.downtime_out(downtime.DowntimeEvents(ctx.conn, ctx.tenant_id).require(event_id))


@router.patch("/{event_id:uuid}", permission=ENTRY, body=DowntimePatch, response=DowntimeOut)
def update_downtime(ctx: Context, event_id: UUID, body: DowntimePatch) -> DowntimeOut:
    """Close an open manual event or change its note."""
    before, after = downtime.update_downtime(ctx.conn, ctx.tenant_id, event_id, body)
    out = downtime.downtime_out(after)
    ctx.audit("update", "downtime", event_id, before=downtime.downtime_out(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.post("/{event_id:uuid}/reason", permission=ENTRY, body=ReasonAssign, response=DowntimeOut)
def assign_downtime_reason(ctx: Context, event_id: UUID, body: ReasonAssign) -> DowntimeOut:
    """Give a stop its reason (this also settles whether it was planned)."""
    before, after = downtime.assign_reason(ctx.conn, ctx.tenant_id, event_id, body)
    out = downtime.downtime_out(after)
    ctx.audit("update", "downtime", event_id, before=downtime.downtime_out(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.get("/reasons", permission=VIEW, query=ReasonQuery, response=Page[ReasonOut])
def list_reasons(ctx: Context, query: ReasonQuery) -> Page[ReasonOut]:
    """The reason tree (category → reason → sub-reason), flat with parent ids; seeded on first use."""
    page = reasons.list_reasons(ctx.conn, ctx.tenant_id, query)
    return Page[ReasonOut](items=[_reason(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/reasons", permission=PLAN, body=ReasonIn, response=ReasonOut, status_code=201)
def create_reason(ctx: Context, body: ReasonIn) -> ReasonOut:
    """Add a category, reason or sub-reason."""
    out = _reason(reasons.create_reason(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "loss_reason", out.id, after=out.model_dump(mode="json"))
    return out


@router.patch("/reasons/{reason_id:uuid}", permission=PLAN, body=ReasonPatch, response=ReasonOut)
def update_reason(ctx: Context, reason_id: UUID, body: ReasonPatch) -> ReasonOut:
    """Rename a reason or take it out of use (records keep it)."""
    before, after = reasons.update_reason(ctx.conn, ctx.tenant_id, reason_id, body)
    out = _reason(after)
    ctx.audit("update", "loss_reason", reason_id, before=_reason(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out
