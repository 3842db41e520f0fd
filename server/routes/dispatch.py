"""Machine queues (dispatch) and the operations running on machines (start, setup done, pause, complete)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import RowMapping

from factoryos.materials.completion import lot_at_completion
from factoryos.orders import dispatch, runs
from factoryos.orders.run_models import (
    DispatchIn,
    QueueOrderIn,
    QueueOut,
    QueueQuery,
    RunCompleteIn,
    RunOut,
    RunPauseIn,
    RunStartIn,
    RunStartOut,
)
from factoryos.production.shifts import instances_overlapping
from server.api import Context, Router

router = Router(prefix="/api/v1", tags=("dispatch",))

VIEW = "orders.view"
PLAN = "production.plan"
ENTRY = "production.entry"


def _audit(ctx: Context, result: runs.RunResult) -> None:
    """One row for the request: the run that started (or changed), the rest of what it did as
    its `effects` (operation and order statuses, a run it ended, the ERP confirmation)."""
    primary = next((c for c in result.changes if c.entity == "operation_run" and c.entity_id == result.run["id"]),
                   result.changes[0])
    effects = [{"action": c.action, "entity": c.entity, "id": str(c.entity_id), "before": c.before, "after": c.after}
               for c in result.changes if c is not primary]
    after = dict(primary.after or {}) | ({"effects": effects} if effects else {})
    ctx.audit(primary.action, primary.entity, primary.entity_id, before=primary.before, after=after)


def _change(ctx: Context, c: runs.Change) -> None:
    ctx.audit(c.action, c.entity, c.entity_id, before=c.before, after=c.after)


def _finished_lot(ctx: Context, result: runs.RunResult, run: RowMapping | None, now: datetime) -> None:
    """The order's finished lot when its last operation completes, in this transaction (orders never
    import materials; see factoryos/materials/completion.py); audited as an effect of the request."""
    out = lot_at_completion(ctx.conn, ctx.tenant_id, ctx.user_id, run["operation_id"], now) if run else None
    if out is not None:
        result.changes.append(runs.Change("create", "lot", out.lot.id, None, {
            "lot": out.lot.number, "quantity": str(out.lot.quantity), "receipt": out.receipt.id,
            "inputs": [{"lot_id": str(c.lot_id), "quantity": str(c.quantity)} for c in out.consumed],
            "backflushed": [m.id for m in out.backflushed], "serials": len(out.lot.serials)}))


def _out(ctx: Context, run_id: UUID, now: datetime) -> RunOut:
    return RunOut.model_validate(runs.run_view(ctx.conn, ctx.tenant_id, run_id, now))


@router.get("/machines/{machine_id:uuid}/run", permission=VIEW, response=RunOut | None)
def get_machine_run(ctx: Context, machine_id: UUID) -> RunOut | None:
    """The operation running on the machine, or null."""
    runs.require_machine(ctx.conn, ctx.tenant_id, machine_id)
    row = runs.open_run(ctx.conn, ctx.tenant_id, machine_id)
    return _out(ctx, row["id"], datetime.now(UTC)) if row else None


@router.post("/machines/{machine_id:uuid}/run", permission=ENTRY, body=RunStartIn, response=RunStartOut,
             status_code=201)
def start_machine_run(ctx: Context, machine_id: UUID, body: RunStartIn) -> RunStartOut:
    """Start an operation (by id, or its order's number as scanned); `current` pauses or completes the running one."""
    now = datetime.now(UTC)
    result = runs.start_run(ctx.conn, ctx.tenant_id, ctx.user_id, machine_id, body, now)
    _finished_lot(ctx, result, result.ended, now)
    _audit(ctx, result)
    ended = _out(ctx, result.ended["id"], now) if result.ended is not None else None
    return RunStartOut(run=_out(ctx, result.run["id"], now), ended=ended)


@router.post("/machines/{machine_id:uuid}/run/setup-done", permission=ENTRY, response=RunOut)
def machine_setup_done(ctx: Context, machine_id: UUID) -> RunOut:
    """The changeover is over: the running operation's production time starts now."""
    now = datetime.now(UTC)
    result = runs.setup_done(ctx.conn, ctx.tenant_id, machine_id, now)
    _audit(ctx, result)
    return _out(ctx, result.run["id"], now)


@router.post("/machines/{machine_id:uuid}/run/pause", permission=ENTRY, body=RunPauseIn, response=RunOut)
def pause_machine_run(ctx: Context, machine_id: UUID, body: RunPauseIn) -> RunOut:
    """Pause the running operation: it goes back to the head of the machine's queue."""
    now = datetime.now(UTC)
    result = runs.end_run(ctx.conn, ctx.tenant_id, ctx.user_id, machine_id, "paused", now, reason=body.reason)
    _audit(ctx, result)
    return _out(ctx, result.run["id"], now)


@router.post("/machines/{machine_id:uuid}/run/complete", permission=ENTRY, body=RunCompleteIn, response=RunOut)
def complete_machine_run(ctx: Context, machine_id: UUID, body: RunCompleteIn) -> RunOut:
    """Complete the running operation, optionally with the operator's final good and scrap figures."""
    now = datetime.now(UTC)
    result = runs.end_run(ctx.conn, ctx.tenant_id, ctx.user_id, machine_id, "completed", now,
                          final_good=body.final_good, final_scrap=body.final_scrap)
    _finished_lot(ctx, result, result.run, now)
    _audit(ctx, result)
    return _out(ctx, result.run["id"], now)


@router.get("/machines/{machine_id:uuid}/queue", permission=VIEW, query=QueueQuery, response=QueueOut)
def get_machine_queue(ctx: Context, machine_id: UUID, query: QueueQuery) -> QueueOut:
    """The machine's queued operations in order, each planned onto the shifts; overload past the horizon shown."""
    return dispatch.machine_queue(ctx.conn, ctx.tenant_id, machine_id, datetime.now(UTC), instances_overlapping,
                                  query.shifts)


@router.put("/machines/{machine_id:uuid}/queue", permission=PLAN, body=QueueOrderIn, response=QueueOut)
def reorder_machine_queue(ctx: Context, machine_id: UUID, body: QueueOrderIn) -> QueueOut:
    """Reorder the queue: `operation_ids` must be exactly the queued operations."""
    _change(ctx, dispatch.reorder_queue(ctx.conn, ctx.tenant_id, machine_id, body.operation_ids))
    return dispatch.machine_queue(ctx.conn, ctx.tenant_id, machine_id, datetime.now(UTC), instances_overlapping)


@router.post("/orders/operations/{operation_id:uuid}/dispatch", permission=PLAN, body=DispatchIn, response=QueueOut)
def dispatch_operation(ctx: Context, operation_id: UUID, body: DispatchIn) -> QueueOut:
    """Queue a released operation on a machine its routing allows, at `position` (default: last)."""
    _change(ctx, dispatch.dispatch_operation(ctx.conn, ctx.tenant_id, operation_id, body))
    return dispatch.machine_queue(ctx.conn, ctx.tenant_id, body.machine_id, datetime.now(UTC), instances_overlapping)
