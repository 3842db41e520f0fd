"""Production plans, production entries and the live view."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import RowMapping
from starlette.responses import JSONResponse, Response

from factoryos.live import view as live
from factoryos.live.models import LiveQuery, LiveView
from factoryos.live.snapshots import LiveSnapshots
from factoryos.plant.listing import Page
from factoryos.production import entries, plans, timeline
from factoryos.production.entry_models import EntryIn, EntryOut, EntryQuery, PlanIn, PlanOut, PlanPatch, PlanQuery
from factoryos.production.timeline_models import MachineTimeline, TimelineQuery
from server.api import Context, Router

router = Router(prefix="/api/v1/production", tags=("production",))

VIEW = "assets.view"
PLAN = "production.plan"
ENTRY = "production.entry"


def _plan(row: RowMapping) -> PlanOut:
    return PlanOut.model_validate(dict(row))


def _entry(row: RowMapping) -> EntryOut:
    return EntryOut.model_validate(dict(row))


@router.get("/plan", permission=VIEW, query=PlanQuery, response=Page[PlanOut])
def list_plans(ctx: Context, query: PlanQuery) -> Page[PlanOut]:
    """Plans by machine, shift instance or site; `q` searches job and product references."""
    page = plans.list_plans(ctx.conn, ctx.tenant_id, query)
    return Page[PlanOut](items=[_plan(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/plan", permission=PLAN, body=PlanIn, response=PlanOut, status_code=201)
def create_plan(ctx: Context, body: PlanIn) -> PlanOut:
    """Plan a machine for one shift instance (at most one plan per machine and shift)."""
    out = _plan(plans.create_plan(ctx.conn, ctx.tenant_id, ctx.user_id, body))
    ctx.audit("create", "production_plan", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/plan/{plan_id:uuid}", permission=VIEW, response=PlanOut)
def get_plan(ctx: Context, plan_id: UUID) -> PlanOut:
    """One plan."""
    return _plan(plans.Plans(ctx.conn, ctx.tenant_id).require(plan_id))


@router.patch("/plan/{plan_id:uuid}", permission=PLAN, body=PlanPatch, response=PlanOut)
def update_plan(ctx: Context, plan_id: UUID, body: PlanPatch) -> PlanOut:
    """Change a plan's target, references or operators."""
    before, after = plans.update_plan(ctx.conn, ctx.tenant_id, plan_id, body)
    out = _plan(after)
    ctx.audit("update", "production_plan", plan_id, before=_plan(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.delete("/plan/{plan_id:uuid}", permission=PLAN, status_code=204)
def delete_plan(ctx: Context, plan_id: UUID) -> None:
    """Remove a plan."""
    before = plans.delete_plan(ctx.conn, ctx.tenant_id, plan_id)
    ctx.audit("delete", "production_plan", plan_id, before=_plan(before).model_dump(mode="json"))


@router.get("/entry", permission=VIEW, query=EntryQuery, response=Page[EntryOut])
def list_entries(ctx: Context, query: EntryQuery) -> Page[EntryOut]:
    """Production entries by machine, shift instance or operator; `q` searches job and note."""
    page = entries.list_entries(ctx.conn, ctx.tenant_id, query)
    return Page[EntryOut](items=[_entry(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/entry", permission=ENTRY, body=EntryIn, response=EntryOut, status_code=201)
def create_entry(ctx: Context, body: EntryIn) -> Response:
    """Report good parts for a machine; send an Idempotency-Key so a retry is stored once."""
    new = entries.new_entry(ctx.conn, ctx.tenant_id, ctx.user_id, body, datetime.now(UTC))
    # Checked now, written with the commit: one round trip less for every terminal's entry.
    ctx.write_at_commit(entries.INSERT_ENTRY, new.values, new.refusal)
    out = EntryOut.model_validate(new.values)
    answer = out.model_dump(mode="json")  # once, for the audit row and the answer
    ctx.audit("create", "production_entry", out.id, after=answer)
    return JSONResponse(answer, status_code=201)


@router.get("/entry/{entry_id:uuid}", permission=VIEW, response=EntryOut)
def get_entry(ctx: Context, entry_id: UUID) -> EntryOut:
    """One production entry."""
    return _entry(entries.ProductionEntries(ctx.conn, ctx.tenant_id).require(entry_id))


@router.delete("/entry/{entry_id:uuid}", permission=ENTRY, status_code=204)
def delete_entry(ctx: Context, entry_id: UUID) -> None:
    """Withdraw a wrong entry (the audit log keeps it)."""
    before = entries.delete_entry(ctx.conn, ctx.tenant_id, entry_id)
    ctx.audit("delete", "production_entry", entry_id, before=_entry(before).model_dump(mode="json"))


@router.get("/live", permission=VIEW, query=LiveQuery, response=LiveView)
def live_view(ctx: Context, query: LiveQuery) -> LiveView | Response:
    """Per machine of a site: state since, shift counts vs target, OEE so far, downtime needing a reason.

    Served from the site's shared snapshot, at most `FACTORYOS_LIVE_SNAPSHOT_SECONDS` old (`at` says when)."""
    snapshots: LiveSnapshots | None = ctx.state.live_snapshots
    if snapshots is None or snapshots.max_age <= 0:
        return live.live_view(ctx.conn, ctx.tenant_id, query, datetime.now(UTC))
    snap = snapshots.get(ctx.conn, ctx.tenant_id, query.site_id, lambda: datetime.now(UTC))
    return Response(snap.json(query.line_id), media_type="application/json")


@router.get("/timeline", permission=VIEW, query=TimelineQuery, response=MachineTimeline)
def machine_timeline(ctx: Context, query: TimelineQuery) -> MachineTimeline:
    """One machine's states and counts per local hour of its site in a period (at most 2 days)."""
    return timeline.machine_timeline(ctx.conn, ctx.tenant_id, query)
