"""Which inspections are due on a machine now, from its plans and what it runs.

The plans that apply: while an operation runs, the released plans of its product (all of
its operations, or the routing operation it came from; restricted to this machine when the
plan names one); while no product runs, the machine's own plans. Every inspection of a plan
on the machine resets its rules. Per rule:

- first article: due from the start of the order's operation on the machine until the plan
  has an inspection of that operation;
- every N parts: due once N parts (good and scrap, counted or entered) were made since the
  last inspection (or the run's start); overdue past 2N;
- every T minutes: due T minutes after the last inspection (or the run's start, or the release);
- per shift: due from the shift's start (or the run's, when later) until inspected in it.
Due longer than the plan's grace minutes is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, text

from factoryos.orders.runs import require_machine, running_runs
from factoryos.plant.records import SiteRecord
from factoryos.plant.sites import Sites
from factoryos.production.shifts import running_instance
from factoryos.quality.inspection_models import DueInspection
from factoryos.schema.orders import order_operations
from factoryos.schema.plant import machines
from factoryos.schema.quality import inspection_plan_versions as versions
from factoryos.schema.quality import inspection_plans as plans
from factoryos.schema.quality import inspections

# Parts made on a machine since an instant: PLC minute buckets (a bucket belongs to the
# instant its midpoint follows, as in factoryos.orders.progress), hand entries and rejections.
_PARTS_SINCE = text(
    """
    select coalesce((select sum(b.good + b.reject) from machine_count_buckets b
                     where b.tenant_id = :t and b.machine_id = :m and b.minute >= cast(:since as timestamptz)
                       - interval '30 seconds'), 0)
         + coalesce((select sum(e.good_quantity) from production_entries e
                     where e.tenant_id = :t and e.machine_id = :m and e.started_at >= :since), 0)
         + coalesce((select sum(j.quantity) from rejection_entries j
                     where j.tenant_id = :t and j.machine_id = :m and j.occurred_at >= :since), 0)
    """
)

PRIORITY = ("first_article", "parts", "time", "shift")


def parts_since(conn: Connection, tenant_id: UUID, machine_id: UUID, since: datetime) -> int:
    return int(conn.execute(_PARTS_SINCE, {"t": tenant_id, "m": machine_id, "since": since}).scalar_one())


@dataclass(frozen=True)
class Scope:
    """What the machine runs now (None fields: nothing runs)."""

    run: RowMapping | None
    routing_operation_id: UUID | None


def machine_scope(conn: Connection, tenant_id: UUID, machine_id: UUID) -> Scope:
    run = running_runs(conn, tenant_id, [machine_id]).get(machine_id)
    routing_op = None
    if run is not None:
        routing_op = conn.execute(select(order_operations.c.routing_operation_id).where(
            order_operations.c.tenant_id == tenant_id, order_operations.c.id == run["operation_id"])).scalar()
    return Scope(run, routing_op)


def applicable_plans(conn: Connection, tenant_id: UUID, machine_id: UUID, scope: Scope,
                     plan_id: UUID | None = None) -> list[RowMapping]:
    """The released versions (with their plan's name) that apply on the machine now."""
    run = scope.run
    if run is not None and run["product_id"] is not None:
        where = and_(plans.c.product_id == run["product_id"],
                     or_(plans.c.routing_operation_id.is_(None),
                         plans.c.routing_operation_id == scope.routing_operation_id),
                     or_(plans.c.machine_id.is_(None), plans.c.machine_id == machine_id))
    else:
        where = and_(plans.c.product_id.is_(None), plans.c.machine_id == machine_id)
    stmt = (select(versions, plans.c.name.label("plan_name"))
            .select_from(versions.join(plans, and_(plans.c.tenant_id == versions.c.tenant_id,
                                                   plans.c.id == versions.c.plan_id)))
            .where(versions.c.tenant_id == tenant_id, versions.c.status == "released", where)
            .order_by(plans.c.name, plans.c.id))
    if plan_id is not None:
        stmt = stmt.where(plans.c.id == plan_id)
    return list(conn.execute(stmt).mappings())


def _last(conn: Connection, tenant_id: UUID, plan_id: UUID, machine_id: UUID,
          operation_id: UUID | None = None) -> datetime | None:
    stmt = select(func.max(inspections.c.recorded_at)).where(
        inspections.c.tenant_id == tenant_id, inspections.c.plan_id == plan_id,
        inspections.c.machine_id == machine_id)
    if operation_id is not None:
        stmt = stmt.where(inspections.c.operation_id == operation_id)
    return conn.execute(stmt).scalar()


def _later(*instants: datetime | None) -> datetime | None:
    known = [i for i in instants if i is not None]
    return max(known) if known else None


def _due_for_plan(conn: Connection, tenant_id: UUID, machine: RowMapping, site: SiteRecord | None,
                  scope: Scope, v: RowMapping, now: datetime) -> DueInspection | None:
    run = scope.run
    grace = timedelta(minutes=v["grace_minutes"])
    last = _last(conn, tenant_id, v["plan_id"], machine["id"])
    start = run["started_at"] if run is not None else None
    found: list[tuple[str, str, datetime | None, bool, int | None]] = []  # trigger, reason, since, overdue, parts
    if (v["first_article"] and run is not None and start is not None
            and _last(conn, tenant_id, v["plan_id"], machine["id"], run["operation_id"]) is None):
        found.append(("first_article", f"first article of order {run['job_number']}", start,
                      now >= start + grace, None))
    if v["every_parts"]:
        # With no order running (a machine's plan), count from the last inspection or the release.
        since = _later(last, start) or v["released_at"]
        made = parts_since(conn, tenant_id, machine["id"], since)
        if made >= v["every_parts"]:
            found.append(("parts", f"every {v['every_parts']} parts: {made} made since the last inspection", None,
                          made >= 2 * v["every_parts"], made))
    if v["every_minutes"]:
        base = _later(last, start) or v["released_at"]
        due_at = base + timedelta(minutes=v["every_minutes"])
        if now >= due_at:
            found.append(("time", f"every {v['every_minutes']} min", due_at,
                          now >= due_at + grace, None))
    if v["per_shift"] and site is not None:
        shift = running_instance(conn, tenant_id, site, now)
        if shift is not None:
            due_at = _later(shift["starts_at"], start)
            assert due_at is not None
            if last is None or last < due_at:
                found.append(("shift", f"once per shift ({shift.get('name') or 'this shift'})", due_at,
                              now >= due_at + grace, None))
    if not found:
        return None
    found.sort(key=lambda f: PRIORITY.index(f[0]))
    counted = next((f[4] for f in found if f[4] is not None), None)
    since_all = [f[2] for f in found if f[2] is not None]
    return DueInspection(
        plan_id=v["plan_id"], plan_name=v["plan_name"], version=v["version"], machine_id=machine["id"],
        machine_code=machine["code"], trigger=found[0][0], reasons=[f[1] for f in found],
        due_since=min(since_all) if since_all else None, overdue=any(f[3] for f in found), parts_since=counted,
        product_number=run["product_number"] if run is not None else None,
        job_number=run["job_number"] if run is not None else None,
        operation_id=run["operation_id"] if run is not None else None,
    )


def _site(conn: Connection, tenant_id: UUID, site_id: UUID) -> SiteRecord | None:
    return Sites(conn, tenant_id).get(site_id)


def due_on_machine(conn: Connection, tenant_id: UUID, machine_id: UUID, now: datetime,
                   machine: RowMapping | None = None) -> list[DueInspection]:
    machine = machine or require_machine(conn, tenant_id, machine_id)
    scope = machine_scope(conn, tenant_id, machine_id)
    site = _site(conn, tenant_id, machine["site_id"])
    out = []
    for v in applicable_plans(conn, tenant_id, machine_id, scope):
        item = _due_for_plan(conn, tenant_id, machine, site, scope, v, now)
        if item is not None:
            out.append(item)
    return out


def trigger_for(conn: Connection, tenant_id: UUID, machine: RowMapping, plan_id: UUID, now: datetime) -> str:
    """What makes this plan due on the machine now (its first rule), else `manual`."""
    for item in due_on_machine(conn, tenant_id, machine["id"], now, machine):
        if item.plan_id == plan_id:
            return item.trigger
    return "manual"


def overdue(conn: Connection, tenant_id: UUID, now: datetime, site_id: UUID | None = None) -> list[DueInspection]:
    """Overdue inspections across the company's machines that have a released plan (for the dashboard)."""
    stmt = select(machines).where(machines.c.tenant_id == tenant_id, machines.c.status != "retired")
    if site_id is not None:
        stmt = stmt.where(machines.c.site_id == site_id)
    out: list[DueInspection] = []
    if not _any_released(conn, tenant_id):
        return out
    for m in conn.execute(stmt.order_by(machines.c.code)).mappings():
        out.extend(i for i in due_on_machine(conn, tenant_id, m["id"], now, m) if i.overdue)
    return out


def _any_released(conn: Connection, tenant_id: UUID) -> bool:
    return conn.execute(select(versions.c.id).where(versions.c.tenant_id == tenant_id,
                                                    versions.c.status == "released").limit(1)).first() is not None


def as_dict(item: DueInspection) -> dict[str, Any]:
    return item.model_dump(mode="json")
