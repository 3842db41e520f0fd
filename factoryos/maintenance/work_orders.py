"""Maintenance work orders: preventive (from due plans), corrective (from a downtime), requests.

Statuses: requested → approved → scheduled → in_progress → done, and cancelled from any open
one. A request waits for a planner's approval; a corrective or request raised by someone who
may trigger work orders starts approved. A closed order (done, cancelled) is never edited.

Preventive orders are made by `generate_due`: every minute by the server's duty for every
company (`due_duty`), so an order exists (and the dashboard shows it) without anyone looking,
and also when the due list or the work orders are read, so what is shown is judged on the
freshest production data. The partial unique index on (plan, open) makes a second insert a
no-op, so the duty and readers never make two orders of one plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.maintenance import booking, usage
from factoryos.maintenance.assets import display_name, machine_asset, require_asset
from factoryos.maintenance.models import (
    ChecklistResult,
    FinishIn,
    Part,
    TransitionIn,
    WorkOrderIn,
    WorkOrderOut,
    WorkOrderPatch,
    WorkOrderQuery,
)
from factoryos.maintenance.plans import active_plans, in_service, plan_due
from factoryos.plant.machines import require_machine
from factoryos.production.downtime import DowntimeEvents
from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.maintenance import maintenance_plans as mp
from factoryos.schema.maintenance import maintenance_work_orders as wo
from factoryos.signatures.service import signatures_for

RECORD_TYPE = "maintenance_work_order"
OPEN = ("requested", "approved", "scheduled", "in_progress")
CLOSED = ("done", "cancelled")
ON_TIME_TOLERANCE = 0.10  # done within 10 % of the interval past due still counts as on time


class WorkOrders(TenantRepository):
    table = wo
    entity = "work order"


@dataclass
class Change:
    action: str
    entity_id: UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    effects: list[dict[str, Any]] = field(default_factory=list)


def number_label(number: int) -> str:
    return f"WO-{number:05d}"


def _next_number(conn: Connection, tenant_id: UUID) -> int:
    # One writer at a time per company takes a number (gaps never, duplicates never).
    conn.execute(text("select pg_advisory_xact_lock(hashtextextended('maintenance_wo:' || :t, 0))"),
                 {"t": str(tenant_id)})
    return conn.execute(select(func.coalesce(func.max(wo.c.number), 0) + 1).where(wo.c.tenant_id == tenant_id)
                        ).scalar_one()


SIGNED_FIELDS = ("id", "number", "title", "asset_id", "checklist", "parts", "labour_minutes", "notes")


def signed_content(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """What a closing signature signs: the order as it stands when closed (edits would void it)."""
    return {k: row[k] for k in SIGNED_FIELDS}


def closing_content(before: RowMapping, body: FinishIn) -> dict[str, Any]:
    """`signed_content` of the order as finishing it with `body` will leave it."""
    return signed_content(dict(before) | _lists(body.model_dump(exclude_unset=True, exclude={"confirm", "signature"}),
                                                body))


def work_order_out(conn: Connection, tenant_id: UUID, row: RowMapping) -> WorkOrderOut:
    asset = require_asset(conn, tenant_id, row["asset_id"], field=None)
    needs_stop = False
    if row["plan_id"] is not None:
        needs_stop = bool(conn.execute(select(mp.c.needs_stop).where(mp.c.tenant_id == tenant_id,
                                                                     mp.c.id == row["plan_id"])).scalar())
    return WorkOrderOut(
        **{k: row[k] for k in ("id", "kind", "status", "asset_id", "machine_id", "plan_id", "downtime_id",
                               "booked_downtime_id", "title", "description", "trigger", "due_at", "assignee_id",
                               "requested_by", "approved_by", "scheduled_for", "started_at", "finished_at",
                               "labour_minutes", "notes", "on_time", "requires_signature", "signature_id",
                               "created_at", "updated_at")},
        number=number_label(row["number"]),
        asset_name=display_name(conn, tenant_id, asset),
        checklist=[ChecklistResult.model_validate(c) for c in row["checklist"]],
        parts=[Part.model_validate(p) for p in row["parts"]],
        needs_stop=needs_stop,
        signatures=signatures_for(conn, tenant_id, RECORD_TYPE, row["id"], signed_content(row))
        if row["signature_id"] is not None else [],
    )


def snapshot(conn: Connection, tenant_id: UUID, row: RowMapping) -> dict[str, Any]:
    return work_order_out(conn, tenant_id, row).model_dump(mode="json")


# -- generation -------------------------------------------------------------------------


def generate_due(conn: Connection, tenant_id: UUID, now: datetime) -> list[RowMapping]:
    """Make the preventive order of each active plan that is due and has no open order."""
    made = []
    for plan in active_plans(conn, tenant_id):
        busy = conn.execute(select(wo.c.id).where(wo.c.tenant_id == tenant_id, wo.c.plan_id == plan["id"],
                                                  wo.c.status.in_(OPEN))).first()
        if busy is not None:
            continue
        asset = require_asset(conn, tenant_id, plan["asset_id"], field=None)
        if not in_service(conn, tenant_id, asset):
            continue
        due = plan_due(conn, tenant_id, plan, asset, now)
        fired = due.fired
        if fired is None:
            continue
        machine_id = usage.machine_of(conn, tenant_id, asset)
        checklist = [{"task": c["task"], "done": False, "note": None} for c in plan["checklist"]]
        row = conn.execute(pg_insert(wo).values(
            tenant_id=tenant_id, number=_next_number(conn, tenant_id), kind="preventive", status="approved",
            asset_id=asset["id"], machine_id=machine_id, plan_id=plan["id"], title=plan["name"],
            trigger=fired.trigger, due_at=fired.due_at or now, checklist=checklist,
            requires_signature=plan["requires_signature"],
        ).on_conflict_do_nothing(index_elements=["tenant_id", "plan_id"],
                                 index_where=and_(wo.c.plan_id.is_not(None), wo.c.status.not_in(CLOSED)))
            .returning(wo)).mappings().first()
        if row is not None:
            made.append(row)
    return made


# -- requests and corrective orders -----------------------------------------------------


def create_work_order(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: WorkOrderIn, *,
                      approve: bool) -> RowMapping:
    downtime = None
    machine_id = body.machine_id
    if body.downtime_id is not None:
        downtime = DowntimeEvents(conn, tenant_id).get(body.downtime_id)
        if downtime is None:
            raise ValidationFailed(f"downtime {body.downtime_id} not found", code="downtime_not_found",
                                   field="downtime_id")
        if machine_id is not None and machine_id != downtime["machine_id"]:
            raise ValidationFailed("the downtime is of another machine", code="downtime_other_machine",
                                   field="downtime_id")
        machine_id = downtime["machine_id"]
        linked = conn.execute(select(wo.c.number).where(wo.c.tenant_id == tenant_id,
                                                        wo.c.downtime_id == body.downtime_id,
                                                        wo.c.status.in_(OPEN))).scalar()
        if linked is not None:
            raise Conflict(f"this downtime already has work order {number_label(linked)}",
                           code="downtime_already_linked", field="downtime_id")
    elif body.kind == "corrective":
        raise ValidationFailed("a corrective work order is raised from a downtime", code="downtime_required",
                               field="downtime_id")
    if body.asset_id is not None:
        asset = require_asset(conn, tenant_id, body.asset_id, active=True)
    elif machine_id is not None:
        asset = machine_asset(conn, tenant_id, machine_id)
    else:
        raise ValidationFailed("name the asset or the machine", code="asset_required", field="asset_id")
    if machine_id is None:
        machine_id = usage.machine_of(conn, tenant_id, asset)
    if machine_id is not None:
        require_machine(conn, tenant_id, machine_id, active=True)
    return conn.execute(wo.insert().values(
        tenant_id=tenant_id, number=_next_number(conn, tenant_id), kind=body.kind,
        status="approved" if approve else "requested", asset_id=asset["id"], machine_id=machine_id,
        downtime_id=body.downtime_id, title=body.title, description=body.description, requested_by=user_id,
        approved_by=user_id if approve else None,
    ).returning(wo)).mappings().one()


# -- edits and transitions --------------------------------------------------------------


def _require_open(row: RowMapping, field: str) -> None:
    if row["status"] in CLOSED:
        raise Conflict(f"work order {number_label(row['number'])} is {row['status']}: it can no longer be changed",
                       code="work_order_closed", field=field)


def _assignee(conn: Connection, tenant_id: UUID, user_id: UUID | None) -> None:
    if user_id is None:
        return
    member = conn.execute(text("select 1 from memberships where tenant_id = :t and user_id = :u"),
                          {"t": tenant_id, "u": user_id}).first()
    if member is None:
        raise ValidationFailed(f"user {user_id} is not a member of this company", code="assignee_not_member",
                               field="assignee_id")


def _lists(values: dict[str, Any], body: Any) -> dict[str, Any]:
    if "checklist" in values:
        values["checklist"] = [c.model_dump() for c in body.checklist or []]
    if "parts" in values:
        values["parts"] = [p.model_dump(mode="json") for p in body.parts or []]
    return values


def update_work_order(conn: Connection, tenant_id: UUID, wo_id: UUID, body: WorkOrderPatch
                      ) -> tuple[RowMapping, RowMapping]:
    repo = WorkOrders(conn, tenant_id)
    before = repo.require(wo_id, for_update=True)
    values = body.model_dump(exclude_unset=True)
    _require_open(before, next(iter(values), "status"))
    if "assignee_id" in values:
        _assignee(conn, tenant_id, values["assignee_id"])
    values = _lists(values, body)
    if not values:
        return before, before
    after = repo.update(wo_id, **values, updated_at=func.now())
    assert after is not None
    return before, after


def _transition(conn: Connection, tenant_id: UUID, wo_id: UUID, allowed: tuple[str, ...], target: str
                ) -> RowMapping:
    row = WorkOrders(conn, tenant_id).require(wo_id, for_update=True)
    _require_open(row, "status")
    if row["status"] == target == "in_progress":
        raise Conflict(f"work order {number_label(row['number'])} is already in progress",
                       code="work_order_already_started", field="status")
    if row["status"] not in allowed:
        raise Conflict(f"work order {number_label(row['number'])} is {row['status'].replace('_', ' ')}: it cannot "
                       f"become {target.replace('_', ' ')}", code="work_order_wrong_status", field="status",
                       extra={"status": row["status"], "allowed_from": list(allowed)})
    return row


def approve(conn: Connection, tenant_id: UUID, user_id: UUID | None, wo_id: UUID, body: TransitionIn
            ) -> tuple[RowMapping, RowMapping]:
    before = _transition(conn, tenant_id, wo_id, ("requested",), "approved")
    _assignee(conn, tenant_id, body.assignee_id)
    values: dict[str, Any] = {"status": "approved", "approved_by": user_id}
    if body.assignee_id is not None:
        values["assignee_id"] = body.assignee_id
    return before, _set(conn, tenant_id, wo_id, values)


def schedule(conn: Connection, tenant_id: UUID, wo_id: UUID, body: TransitionIn) -> tuple[RowMapping, RowMapping]:
    before = _transition(conn, tenant_id, wo_id, ("approved", "scheduled"), "scheduled")
    if body.scheduled_for is None:
        raise ValidationFailed("scheduled_for is required", code="scheduled_for_required", field="scheduled_for")
    _assignee(conn, tenant_id, body.assignee_id)
    values: dict[str, Any] = {"status": "scheduled", "scheduled_for": body.scheduled_for}
    if body.assignee_id is not None:
        values["assignee_id"] = body.assignee_id
    return before, _set(conn, tenant_id, wo_id, values)


def _set(conn: Connection, tenant_id: UUID, wo_id: UUID, values: dict[str, Any]) -> RowMapping:
    after = WorkOrders(conn, tenant_id).update(wo_id, **values, updated_at=func.now())
    assert after is not None
    return after


def start(conn: Connection, tenant_id: UUID, user_id: UUID | None, wo_id: UUID, now: datetime
          ) -> tuple[RowMapping, RowMapping]:
    row = WorkOrders(conn, tenant_id).require(wo_id, for_update=True)
    if row["status"] == "requested":
        raise Conflict(f"work order {number_label(row['number'])} waits for approval", code="work_order_not_approved",
                       field="status")
    before = _transition(conn, tenant_id, wo_id, ("approved", "scheduled"), "in_progress")
    asset = require_asset(conn, tenant_id, row["asset_id"], field=None)
    if asset["status"] != "active":
        raise ValidationFailed("the asset is retired", code="asset_retired", field="asset_id")
    machine_id = row["machine_id"]
    booked = None
    if machine_id is not None:
        require_machine(conn, tenant_id, machine_id, active=True)
        needs_stop = False
        if row["plan_id"] is not None:
            needs_stop = bool(conn.execute(select(mp.c.needs_stop).where(mp.c.tenant_id == tenant_id,
                                                                         mp.c.id == row["plan_id"])).scalar())
        booked = booking.book_start(conn, tenant_id, user_id, machine_id, planned=row["kind"] == "preventive",
                                    needs_stop=needs_stop, label=number_label(row["number"]), now=now)
    values: dict[str, Any] = {"status": "in_progress", "started_at": now, "booked_downtime_id": booked}
    if row["assignee_id"] is None:
        values["assignee_id"] = user_id
    return before, _set(conn, tenant_id, wo_id, values)


def _on_time(conn: Connection, tenant_id: UUID, row: RowMapping, now: datetime) -> bool | None:
    """A preventive order is on time when done by its due moment plus 10 % of the plan's interval."""
    if row["kind"] != "preventive" or row["due_at"] is None or row["plan_id"] is None:
        return None
    plan = conn.execute(select(mp).where(mp.c.tenant_id == tenant_id, mp.c.id == row["plan_id"])).mappings().first()
    if plan is None:
        return None
    if row["trigger"] == "calendar":
        period = (row["due_at"] - plan["anchor_at"]).total_seconds()
        return now.timestamp() <= row["due_at"].timestamp() + ON_TIME_TOLERANCE * period
    asset = require_asset(conn, tenant_id, row["asset_id"], field=None)
    due = {t.trigger: t for t in plan_due(conn, tenant_id, plan, asset, now).triggers}
    state = due.get(row["trigger"])
    return state is None or state.used <= state.interval * (1 + ON_TIME_TOLERANCE)


def finish(conn: Connection, tenant_id: UUID, user_id: UUID | None, wo_id: UUID, body: FinishIn, now: datetime,
           *, signed: UUID | None = None) -> tuple[RowMapping, RowMapping]:
    before = _transition(conn, tenant_id, wo_id, ("in_progress",), "done")
    if before["requires_signature"] and signed is None:
        raise ValidationFailed("closing this work order needs an electronic signature", code="work_order_signature_required",
                               field="signature")
    if not before["requires_signature"] and not body.confirm:
        raise ValidationFailed("confirm that the work is done (confirm: true)", code="confirmation_required",
                               field="confirm")
    values = _lists(body.model_dump(exclude_unset=True, exclude={"confirm", "signature"}), body)
    booking.book_end(conn, tenant_id, before["booked_downtime_id"], now)
    values |= {"status": "done", "finished_at": now, "closed_by": user_id, "signature_id": signed,
               "on_time": _on_time(conn, tenant_id, before, now)}
    after = _set(conn, tenant_id, wo_id, values)
    if before["plan_id"] is not None and before["kind"] == "preventive":
        # The plan counts again from now; a first due point on the counters is used up.
        conn.execute(update(mp).where(mp.c.tenant_id == tenant_id, mp.c.id == before["plan_id"])
                     .values(anchor_at=now, next_due_run_hours=None, next_due_cycles=None, updated_at=func.now()))
    return before, after


def cancel(conn: Connection, tenant_id: UUID, wo_id: UUID, body: TransitionIn, now: datetime
           ) -> tuple[RowMapping, RowMapping]:
    before = _transition(conn, tenant_id, wo_id, OPEN, "cancelled")
    booking.book_end(conn, tenant_id, before["booked_downtime_id"], now)
    values: dict[str, Any] = {"status": "cancelled", "finished_at": now}
    if body.note:
        values["notes"] = ((before["notes"] + "\n") if before["notes"] else "") + f"Cancelled: {body.note}"
    return before, _set(conn, tenant_id, wo_id, values)


def list_work_orders(conn: Connection, tenant_id: UUID, query: WorkOrderQuery) -> Page:
    clauses = []
    for name in ("status", "kind", "asset_id", "machine_id"):
        value = getattr(query, name)
        if value is not None:
            clauses.append(wo.c[name] == value)
    if query.open is not None:
        clauses.append(wo.c.status.in_(OPEN) if query.open else wo.c.status.in_(CLOSED))
    return WorkOrders(conn, tenant_id).page(*clauses, limit=query.limit, cursor=query.cursor, search=query.q,
                                            search_columns=("title",))


def asset_ids_of_machine(conn: Connection, tenant_id: UUID, machine_id: UUID) -> list[UUID]:
    return list(conn.execute(select(ma.c.id).where(ma.c.tenant_id == tenant_id, ma.c.machine_id == machine_id))
                .scalars())
