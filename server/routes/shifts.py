"""Shift patterns per site (local wall times) and their instances for a date range."""

from __future__ import annotations

from uuid import UUID

from factoryos.plant.listing import Page
from factoryos.production import shifts
from factoryos.production.shift_models import (
    ShiftInstanceOut,
    ShiftInstanceQuery,
    ShiftPatternIn,
    ShiftPatternOut,
    ShiftPatternPatch,
    ShiftPatternQuery,
)
from server.api import Context, Router

router = Router(prefix="/api/v1/shifts", tags=("shifts",))

VIEW = "assets.view"
PLAN = "production.plan"


@router.get("", permission=VIEW, query=ShiftPatternQuery, response=Page[ShiftPatternOut])
def list_shifts(ctx: Context, query: ShiftPatternQuery) -> Page[ShiftPatternOut]:
    """Shift patterns, optionally of one site."""
    page = shifts.list_patterns(ctx.conn, ctx.tenant_id, query)
    return Page[ShiftPatternOut](items=[shifts.pattern_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("", permission=PLAN, body=ShiftPatternIn, response=ShiftPatternOut, status_code=201)
def create_shift(ctx: Context, body: ShiftPatternIn) -> ShiftPatternOut:
    """Add a shift pattern in the site's local time (end at or before start crosses midnight)."""
    out = shifts.pattern_out(shifts.create_pattern(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "shift", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/instances", permission=VIEW, query=ShiftInstanceQuery, response=list[ShiftInstanceOut])
def list_shift_instances(ctx: Context, query: ShiftInstanceQuery) -> list[ShiftInstanceOut]:
    """Shift instances starting on the local dates `from`..`to`, with exact UTC windows."""
    rows = shifts.list_instances(ctx.conn, ctx.tenant_id, query.site_id, query.from_date, query.to_date,
                                 query.pattern_id)
    return [shifts.instance_out(r) for r in rows]


@router.get("/{shift_id:uuid}", permission=VIEW, response=ShiftPatternOut)
def get_shift(ctx: Context, shift_id: UUID) -> ShiftPatternOut:
    """One shift pattern."""
    return shifts.pattern_out(shifts.ShiftPatterns(ctx.conn, ctx.tenant_id).require(shift_id))


@router.patch("/{shift_id:uuid}", permission=PLAN, body=ShiftPatternPatch, response=ShiftPatternOut)
def update_shift(ctx: Context, shift_id: UUID, body: ShiftPatternPatch) -> ShiftPatternOut:
    """Change a pattern: future shifts follow, recorded ones keep their times."""
    before, after = shifts.update_pattern(ctx.conn, ctx.tenant_id, shift_id, body)
    out = shifts.pattern_out(after)
    ctx.audit("update", "shift", shift_id, before=shifts.pattern_out(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.delete("/{shift_id:uuid}", permission=PLAN, status_code=204)
def delete_shift(ctx: Context, shift_id: UUID) -> None:
    """Remove a pattern nothing was recorded in (deactivate it otherwise)."""
    before = shifts.delete_pattern(ctx.conn, ctx.tenant_id, shift_id)
    ctx.audit("delete", "shift", shift_id, before=shifts.pattern_out(before).model_dump(mode="json"))
