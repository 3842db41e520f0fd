"""Maintenance (/api/v1/maintenance): assets, plans, the due list, work orders, MTBF/MTTR.

Everyone who may see maintenance reads it (`maintenance.view`); anyone may report a problem
(`maintenance.request`); technicians raise corrective orders, start and finish work
(`maintenance.workorder.trigger`); planners keep assets and plans, approve, schedule and cancel
(`maintenance.manage`). The preventive orders of plans that fell due are made by a server duty
(factoryos/maintenance/due_duty.py) and, so that what is read is current, also when the due list or
the work orders are read. An Advanced-edition module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping
from starlette.responses import StreamingResponse

from factoryos.errors import ValidationFailed
from factoryos.listing import Page
from factoryos.maintenance import assets, due_duty, planned_stops, plans, reliability, work_orders
from factoryos.maintenance.models import (
    AssetIn,
    AssetOut,
    AssetPatch,
    AssetQuery,
    FinishIn,
    MountIn,
    PlanIn,
    PlannedStop,
    PlannedStopQuery,
    PlanOut,
    PlanPatch,
    PlanQuery,
    Reliability,
    ReliabilityQuery,
    TransitionIn,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPatch,
    WorkOrderQuery,
)
from factoryos.reports.builders.maintenance_query import MaintenanceReportQuery
from factoryos.reports.builders.maintenance_report import build_maintenance_report
from server.api import Context, Router
from server.routes.reports import MEDIA_TYPES, _stream, _user_name
from server.routes.signatures import sign_record

router = Router(prefix="/api/v1/maintenance", tags=("maintenance",))
# The report is a file like every other report: under /api/v1/reports/.
reports = Router(prefix="/api/v1/reports", tags=("maintenance",))

MODULE = due_duty.MODULE
VIEW = "maintenance.view"
REQUEST = "maintenance.request"
TRIGGER = "maintenance.workorder.trigger"
MANAGE = "maintenance.manage"
EXPORT = "reports.export"
MAX_RANGE_DAYS = 400


def _now() -> datetime:
    return datetime.now(UTC)


# -- assets -----------------------------------------------------------------------------


def _asset(ctx: Context, row: RowMapping) -> AssetOut:
    return assets.asset_out(ctx.conn, ctx.tenant_id, row, _now())


@router.get("/assets", permission=VIEW, query=AssetQuery, response=Page[AssetOut], module=MODULE)
def list_maintenance_assets(ctx: Context, query: AssetQuery) -> Page[AssetOut]:
    """Every machine (each is an asset) and the sub-assets, moulds and tools, with their usage."""
    page = assets.list_assets(ctx.conn, ctx.tenant_id, query)
    return Page[AssetOut](items=[_asset(ctx, r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/assets", permission=MANAGE, body=AssetIn, response=AssetOut, status_code=201, module=MODULE)
def create_maintenance_asset(ctx: Context, body: AssetIn) -> AssetOut:
    """A sub-asset under a machine's asset (spindle, robot) or a movable one (mould, tool)."""
    out = _asset(ctx, assets.create_asset(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "maintenance_asset", out.id, after=out.model_dump(mode="json", exclude={"usage"}))
    return out


@router.get("/assets/{asset_id:uuid}", permission=VIEW, response=AssetOut, module=MODULE)
def get_maintenance_asset(ctx: Context, asset_id: UUID) -> AssetOut:
    """One asset with its run hours and cycles so far."""
    return _asset(ctx, assets.require_asset(ctx.conn, ctx.tenant_id, asset_id, field=None))


@router.get("/machines/{machine_id:uuid}/asset", permission=VIEW, response=AssetOut, module=MODULE)
def get_machine_maintenance_asset(ctx: Context, machine_id: UUID) -> AssetOut:
    """The machine's own asset (made on first use)."""
    return _asset(ctx, assets.machine_asset(ctx.conn, ctx.tenant_id, machine_id))


@router.patch("/assets/{asset_id:uuid}", permission=MANAGE, body=AssetPatch, response=AssetOut, module=MODULE)
def update_maintenance_asset(ctx: Context, asset_id: UUID, body: AssetPatch) -> AssetOut:
    """Serial, install date, documents, model; retire an asset."""
    before, after = assets.update_asset(ctx.conn, ctx.tenant_id, asset_id, body)
    old, out = _asset(ctx, before), _asset(ctx, after)
    ctx.audit("update", "maintenance_asset", asset_id, before=old.model_dump(mode="json", exclude={"usage"}),
              after=out.model_dump(mode="json", exclude={"usage"}))
    return out


@router.post("/assets/{asset_id:uuid}/mount", permission=MANAGE, body=MountIn, response=AssetOut, module=MODULE)
def mount_maintenance_asset(ctx: Context, asset_id: UUID, body: MountIn) -> AssetOut:
    """Mount a mould or tool on a machine (it counts there from now), or take it off (null)."""
    old, new = assets.mount(ctx.conn, ctx.tenant_id, ctx.user_id, asset_id, body.machine_id, _now(), body.at)
    ctx.audit("update", "maintenance_asset", asset_id, before={"mounted_on": str(old) if old else None},
              after={"mounted_on": str(new) if new else None})
    return _asset(ctx, assets.require_asset(ctx.conn, ctx.tenant_id, asset_id, field=None))


# -- plans ------------------------------------------------------------------------------


def _plan(ctx: Context, row: RowMapping) -> PlanOut:
    return plans.plan_out(ctx.conn, ctx.tenant_id, row, _now())


@router.get("/plans", permission=VIEW, query=PlanQuery, response=Page[PlanOut], module=MODULE)
def list_maintenance_plans(ctx: Context, query: PlanQuery) -> Page[PlanOut]:
    """Plans with each trigger's state (ok, soon, due) from the machines' own data."""
    page = plans.list_plans(ctx.conn, ctx.tenant_id, query)
    items = [_plan(ctx, r) for r in page.items]
    if query.state is not None:
        items = [p for p in items if p.state == query.state]
    return Page[PlanOut](items=items, next_cursor=page.next_cursor)


@router.post("/plans", permission=MANAGE, body=PlanIn, response=PlanOut, status_code=201, module=MODULE)
def create_maintenance_plan(ctx: Context, body: PlanIn) -> PlanOut:
    """A plan by calendar, run hours and/or cycles (whichever comes first); usage counts from now."""
    out = _plan(ctx, plans.create_plan(ctx.conn, ctx.tenant_id, ctx.user_id, body, _now()))
    ctx.audit("create", "maintenance_plan", out.id, after=out.model_dump(mode="json", exclude={"triggers", "state"}))
    return out


@router.get("/plans/{plan_id:uuid}", permission=VIEW, response=PlanOut, module=MODULE)
def get_maintenance_plan(ctx: Context, plan_id: UUID) -> PlanOut:
    """One plan and how far each trigger is."""
    return _plan(ctx, plans.Plans(ctx.conn, ctx.tenant_id).require(plan_id))


@router.patch("/plans/{plan_id:uuid}", permission=MANAGE, body=PlanPatch, response=PlanOut, module=MODULE)
def update_maintenance_plan(ctx: Context, plan_id: UUID, body: PlanPatch) -> PlanOut:
    """Change intervals, lead, checklist; deactivate."""
    before, after = plans.update_plan(ctx.conn, ctx.tenant_id, plan_id, body)
    excl = {"triggers", "state"}
    old, out = _plan(ctx, before), _plan(ctx, after)
    ctx.audit("update", "maintenance_plan", plan_id, before=old.model_dump(mode="json", exclude=excl),
              after=out.model_dump(mode="json", exclude=excl))
    return out


def _generate(ctx: Context) -> None:
    for row in due_duty.made_due(ctx.conn, ctx.tenant_id, _now()):
        ctx.audit("create", "maintenance_work_order", row["id"],
                  after=work_orders.snapshot(ctx.conn, ctx.tenant_id, row) | {"generated": "plan due"})


@router.get("/due", permission=VIEW, response=list[PlanOut], module=MODULE)
def maintenance_due(ctx: Context) -> list[PlanOut]:
    """Plans due or within their lead, most urgent first (not those of retired assets or machines);
    makes the orders of plans that fell due."""
    _generate(ctx)
    now = _now()
    out = []
    for p in plans.active_plans(ctx.conn, ctx.tenant_id):
        asset = assets.require_asset(ctx.conn, ctx.tenant_id, p["asset_id"], field=None)
        if plans.in_service(ctx.conn, ctx.tenant_id, asset):
            out.append(plans.plan_out(ctx.conn, ctx.tenant_id, p, now, asset))
    out = [p for p in out if p.state != "ok"]
    return sorted(out, key=lambda p: (p.state != "due", min((t.remaining / t.interval if t.interval else 0)
                                                          for t in p.triggers)))


# -- work orders ------------------------------------------------------------------------


def _wo(ctx: Context, row: RowMapping) -> WorkOrderOut:
    return work_orders.work_order_out(ctx.conn, ctx.tenant_id, row)


def _audit_change(ctx: Context, action: str, before: RowMapping, after: RowMapping) -> WorkOrderOut:
    old, out = _wo(ctx, before), _wo(ctx, after)
    ctx.audit(action, "maintenance_work_order", out.id, before=old.model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.get("/work-orders", permission=VIEW, query=WorkOrderQuery, response=Page[WorkOrderOut], module=MODULE)
def list_work_orders(ctx: Context, query: WorkOrderQuery) -> Page[WorkOrderOut]:
    """Work orders by status, kind, asset or machine; makes the orders of plans that fell due."""
    _generate(ctx)
    page = work_orders.list_work_orders(ctx.conn, ctx.tenant_id, query)
    return Page[WorkOrderOut](items=[_wo(ctx, r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/work-orders", permission=REQUEST, body=WorkOrderIn, response=WorkOrderOut, status_code=201,
             module=MODULE)
def create_work_order(ctx: Context, body: WorkOrderIn) -> WorkOrderOut:
    """Report a problem (a request), or raise a corrective order from a downtime. Approved at once
    when the caller may trigger work orders; otherwise it waits for a planner."""
    approve = ctx.principal is not None and TRIGGER in ctx.principal.permissions
    out = _wo(ctx, work_orders.create_work_order(ctx.conn, ctx.tenant_id, ctx.user_id, body, approve=approve))
    ctx.audit("create", "maintenance_work_order", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/work-orders/{wo_id:uuid}", permission=VIEW, response=WorkOrderOut, module=MODULE)
def get_work_order(ctx: Context, wo_id: UUID) -> WorkOrderOut:
    """One work order with its checklist, parts and labour."""
    return _wo(ctx, work_orders.WorkOrders(ctx.conn, ctx.tenant_id).require(wo_id))


@router.patch("/work-orders/{wo_id:uuid}", permission=TRIGGER, body=WorkOrderPatch, response=WorkOrderOut,
              module=MODULE)
def update_work_order(ctx: Context, wo_id: UUID, body: WorkOrderPatch) -> WorkOrderOut:
    """Assignee, schedule, checklist results, spare parts, labour, notes (never once closed)."""
    before, after = work_orders.update_work_order(ctx.conn, ctx.tenant_id, wo_id, body)
    return _audit_change(ctx, "update", before, after)


@router.post("/work-orders/{wo_id:uuid}/approve", permission=MANAGE, body=TransitionIn, response=WorkOrderOut,
             module=MODULE)
def approve_work_order(ctx: Context, wo_id: UUID, body: TransitionIn) -> WorkOrderOut:
    """A planner approves a request (optionally assigning it)."""
    before, after = work_orders.approve(ctx.conn, ctx.tenant_id, ctx.user_id, wo_id, body)
    return _audit_change(ctx, "update", before, after)


@router.post("/work-orders/{wo_id:uuid}/schedule", permission=MANAGE, body=TransitionIn, response=WorkOrderOut,
             module=MODULE)
def schedule_work_order(ctx: Context, wo_id: UUID, body: TransitionIn) -> WorkOrderOut:
    """Schedule approved work (`scheduled_for`, optionally `assignee_id`)."""
    before, after = work_orders.schedule(ctx.conn, ctx.tenant_id, wo_id, body)
    return _audit_change(ctx, "update", before, after)


@router.post("/work-orders/{wo_id:uuid}/start", permission=TRIGGER, response=WorkOrderOut, module=MODULE)
def start_work_order(ctx: Context, wo_id: UUID) -> WorkOrderOut:
    """Work starts: on a stopped machine (or one the plan needs stopped) the time is maintenance downtime."""
    before, after = work_orders.start(ctx.conn, ctx.tenant_id, ctx.user_id, wo_id, _now())
    return _audit_change(ctx, "update", before, after)


@router.post("/work-orders/{wo_id:uuid}/finish", permission=TRIGGER, body=FinishIn, response=WorkOrderOut,
             module=MODULE)
def finish_work_order(ctx: Context, wo_id: UUID, body: FinishIn) -> WorkOrderOut:
    """Done: with an electronic signature when the plan requires one, otherwise `confirm: true`."""
    row = work_orders.WorkOrders(ctx.conn, ctx.tenant_id).require(wo_id)
    signed = None
    if row["requires_signature"] and row["status"] == "in_progress":
        if body.signature is None:
            raise ValidationFailed("closing this work order needs an electronic signature",
                                   code="work_order_signature_required", field="signature")
        signed = sign_record(ctx, record_type=work_orders.RECORD_TYPE, record_id=wo_id,
                             content=work_orders.closing_content(row, body), body=body.signature).id
    before, after = work_orders.finish(ctx.conn, ctx.tenant_id, ctx.user_id, wo_id, body, _now(), signed=signed)
    return _audit_change(ctx, "update", before, after)


@router.post("/work-orders/{wo_id:uuid}/cancel", permission=MANAGE, body=TransitionIn, response=WorkOrderOut,
             module=MODULE)
def cancel_work_order(ctx: Context, wo_id: UUID, body: TransitionIn) -> WorkOrderOut:
    """Cancel open work (its booked downtime ends now)."""
    before, after = work_orders.cancel(ctx.conn, ctx.tenant_id, wo_id, body, _now())
    return _audit_change(ctx, "update", before, after)


@router.get("/reliability", permission=VIEW, query=ReliabilityQuery, response=list[Reliability], module=MODULE)
def get_maintenance_reliability(ctx: Context, query: ReliabilityQuery) -> list[Reliability]:
    """MTBF and MTTR per machine asset over a period, as the OEE engine counts run time and failures."""
    if query.to <= query.from_:
        raise ValidationFailed("to must be after from", code="invalid_range", field="to")
    if (query.to - query.from_).days > MAX_RANGE_DAYS:
        raise ValidationFailed(f"the period may be at most {MAX_RANGE_DAYS} days", code="range_too_long", field="to")
    return reliability.reliability(ctx.conn, ctx.tenant_id, query.from_, query.to, _now(), query.machine_id)


@router.get("/planned-stops", permission=VIEW, query=PlannedStopQuery, response=list[PlannedStop], module=MODULE)
def get_maintenance_planned_stops(ctx: Context, query: PlannedStopQuery) -> list[PlannedStop]:
    """Approved or scheduled preventive work that needs its machine stopped, in a period (for the plan)."""
    if query.to <= query.from_:
        raise ValidationFailed("to must be after from", code="invalid_range", field="to")
    if (query.to - query.from_).days > MAX_RANGE_DAYS:
        raise ValidationFailed(f"the period may be at most {MAX_RANGE_DAYS} days", code="range_too_long", field="to")
    _generate(ctx)  # plans that fell due have their orders
    return planned_stops.planned_stops(ctx.conn, ctx.tenant_id, query.from_, query.to, site_id=query.site_id,
                                       machine_id=query.machine_id)


@reports.get("/maintenance", permission=EXPORT, query=MaintenanceReportQuery, response_media_types=MEDIA_TYPES,
            long_running=True, module=MODULE)
def maintenance_report(ctx: Context, query: MaintenanceReportQuery) -> StreamingResponse:
    """Work orders in a period, preventive work on time, MTBF/MTTR per asset, top failure reasons, parts."""
    report = build_maintenance_report(ctx.conn, ctx.tenant_id, start=query.from_, end=query.to,
                                      generated_by=_user_name(ctx), now=_now())

    def audit(size: int) -> tuple[str, dict[str, Any]]:
        return "maintenance", {"topic": "maintenance", "format": query.format.value, "from": query.from_.isoformat(),
                               "to": query.to.isoformat(), "work_orders": report.work_orders, "bytes": size}

    return _stream(ctx, report.document, query.format, report.filename(query.format), audit)
