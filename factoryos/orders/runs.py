"""Operations running on machines: which run is open on a machine, which ran at an instant.

One open run per machine (a unique index); a run freezes the standard it runs at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Connection, RowMapping, Select, Uuid, and_, any_, cast, func, insert, or_, select, update

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.orders.confirmations import hold_for_write
from factoryos.orders.order_status import CLOSED, order_status_after_runs, require_open
from factoryos.orders.progress import operation_counts, run_counts
from factoryos.orders.run_models import RunStartIn
from factoryos.plant.records import MachineRecord
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs as runs
from factoryos.schema.orders import order_confirmations as conf
from factoryos.schema.orders import order_operations as ops
from factoryos.schema.orders import products
from factoryos.schema.plant import machines


def _run_select(tenant_id: UUID) -> Select:
    """A run with its operation, order and product, for screens and reports."""
    return (
        select(
            runs.c.id, runs.c.operation_id, runs.c.machine_id, runs.c.started_at, runs.c.setup_ended_at,
            runs.c.ended_at, runs.c.end_kind, runs.c.cycle_seconds, runs.c.parts_per_cycle, runs.c.operator_id,
            ops.c.job_id, ops.c.seq.label("operation_seq"), ops.c.name.label("operation_name"),
            ops.c.quantity, ops.c.status.label("operation_status"), ops.c.setup_seconds,
            jobs.c.job_number, jobs.c.product_id, products.c.number.label("product_number"),
            func.coalesce(products.c.name, jobs.c.product).label("product_name"),
        )
        .select_from(
            runs.join(ops, and_(ops.c.tenant_id == runs.c.tenant_id, ops.c.id == runs.c.operation_id))
            .join(jobs, and_(jobs.c.tenant_id == ops.c.tenant_id, jobs.c.id == ops.c.job_id))
            .outerjoin(products, and_(products.c.tenant_id == jobs.c.tenant_id, products.c.id == jobs.c.product_id))
        )
        .where(runs.c.tenant_id == tenant_id)
    )


def running_runs(conn: Connection, tenant_id: UUID, machine_ids: Iterable[UUID]) -> dict[UUID, RowMapping]:
    """The open run per machine (machines running nothing are left out)."""
    ids = list(machine_ids)
    if not ids:
        return {}
    # One array parameter instead of one per machine: half the planning and binding for a site.
    stmt = _run_select(tenant_id).where(runs.c.machine_id == any_(cast(ids, ARRAY(Uuid))),
                                        runs.c.ended_at.is_(None))
    return {r["machine_id"]: r for r in conn.execute(stmt).mappings()}


def run_at(conn: Connection, tenant_id: UUID, machine_id: UUID, at: datetime) -> RowMapping | None:
    """The run on the machine whose [started_at, ended_at) holds `at`, if any."""
    stmt = (_run_select(tenant_id)
            .where(runs.c.machine_id == machine_id, runs.c.started_at <= at,
                   or_(runs.c.ended_at.is_(None), runs.c.ended_at > at))
            .order_by(runs.c.started_at.desc()).limit(1))
    return conn.execute(stmt).mappings().first()


def open_run(conn: Connection, tenant_id: UUID, machine_id: UUID, *, for_update: bool = False) -> RowMapping | None:
    """The machine's open run (bare row), locked when asked."""
    stmt = select(runs).where(runs.c.tenant_id == tenant_id, runs.c.machine_id == machine_id, runs.c.ended_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


# --- starting and ending runs at the machine -------------------------------------------------

# Statuses an operation may start from; running ones run elsewhere, planned ones wait for release.
STARTABLE = frozenset({"released", "paused"})


@dataclass
class Change:
    """One change a run makes; the route audits the request's main change in one row that
    names the others (`effects`): one action, one audit row."""

    action: str
    entity: str
    entity_id: UUID | int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class RunResult:
    run: RowMapping
    ended: RowMapping | None = None
    changes: list[Change] = field(default_factory=list)


def audit_json(row: RowMapping | dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: (str(v) if isinstance(v, (UUID, Decimal)) else v.isoformat() if isinstance(v, datetime) else v)
            for k, v in dict(row).items()}


def lock_machine(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    # Locked: starts and ends on one machine queue up behind each other instead of racing the unique index.
    row = conn.execute(select(machines).where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"machine {machine_id} not found", code="machine_not_found")
    return row


def _operation(conn: Connection, tenant_id: UUID, operation_id: UUID) -> RowMapping:
    row = conn.execute(select(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation_id)
                       .with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"operation {operation_id} not found", code="operation_not_found", field="operation_id")
    return row


def _order(conn: Connection, tenant_id: UUID, job_id: UUID) -> RowMapping:
    return conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)).mappings().one()


def allowed_entry(operation: RowMapping, machine_id: UUID) -> dict[str, Any] | None:
    """The routing's entry for this machine (None when any machine may run it, or this one may not)."""
    for entry in operation["allowed"] or []:
        if str(entry.get("machine_id")) == str(machine_id):
            return entry
    return None


def may_run_on(operation: RowMapping, machine_id: UUID) -> bool:
    return not operation["allowed"] or allowed_entry(operation, machine_id) is not None


def machine_codes(conn: Connection, tenant_id: UUID, operation: RowMapping) -> list[str]:
    ids = [UUID(str(e["machine_id"])) for e in operation["allowed"] or []]
    if not ids:
        return []
    rows = conn.execute(select(machines.c.code).where(machines.c.tenant_id == tenant_id, machines.c.id.in_(ids))
                        .order_by(machines.c.code))
    return list(rows.scalars())


def check_allowed(conn: Connection, tenant_id: UUID, operation: RowMapping, machine: MachineRecord | RowMapping,
                  field: str) -> None:
    if may_run_on(operation, machine["id"]):
        return
    codes = machine_codes(conn, tenant_id, operation)
    raise ValidationFailed(
        f"operation {operation['seq']} {operation['name']} may not run on {machine['code']}: "
        f"its routing allows {', '.join(codes) or 'no active machine'}",
        code="machine_not_allowed", field=field, extra={"allowed": codes})


def _by_order_number(conn: Connection, tenant_id: UUID, machine: RowMapping, number: str) -> RowMapping:
    """A scanned order number: that order's first operation (by seq) this machine may start."""
    job = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.job_number == number)).mappings().first()
    if job is None:  # scanners and people differ in case; numbers are unique per company, so try once more
        job = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id,
                                              func.lower(jobs.c.job_number) == number.lower())).mappings().first()
    if job is None:
        raise NotFound(f"no order numbered {number!r}", code="order_not_found", field="order_number")
    require_open(job)
    candidates = list(conn.execute(
        select(ops).where(ops.c.tenant_id == tenant_id, ops.c.job_id == job["id"], ops.c.status.in_(STARTABLE))
        .order_by(ops.c.seq).with_for_update()).mappings())
    for op in candidates:
        if may_run_on(op, machine["id"]):
            return op
    if candidates:
        check_allowed(conn, tenant_id, candidates[0], machine, "order_number")
    raise Conflict(f"order {job['job_number']} has no released or paused operation to start",
                   code="no_operation_to_start", field="order_number")


def _check_startable(conn: Connection, tenant_id: UUID, operation: RowMapping, order: RowMapping) -> None:
    require_open(order)
    status = operation["status"]
    if status == "running":
        where = conn.execute(select(machines.c.code).select_from(runs.join(
            machines, and_(machines.c.tenant_id == runs.c.tenant_id, machines.c.id == runs.c.machine_id)))
            .where(runs.c.tenant_id == tenant_id, runs.c.operation_id == operation["id"], runs.c.ended_at.is_(None))
        ).scalar()
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} already runs on {where}",
                       code="operation_busy", field="operation_id", extra={"machine": where})
    if status in CLOSED:
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} is {status}",
                       code="operation_closed", field="operation_id")
    if status not in STARTABLE:
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} is {status}: release the order first",
                       code="operation_not_released", field="operation_id")


def _running_conflict(conn: Connection, tenant_id: UUID, machine: RowMapping, current: RowMapping) -> Conflict:
    row = run_at(conn, tenant_id, machine["id"], current["started_at"])
    number = row["job_number"] if row else "?"
    name = f"{row['operation_seq']} {row['operation_name']}" if row else "?"
    return Conflict(
        f"order {number} operation {name} runs on {machine['code']}: pause or complete it first",
        code="operation_running", field="current",
        extra={"run_id": str(current["id"]), "operation_id": str(current["operation_id"]), "order_number": number})


def start_run(conn: Connection, tenant_id: UUID, user_id: UUID | None, machine_id: UUID, body: RunStartIn,
              now: datetime) -> RunResult:
    """Start an operation on a machine, first pausing or completing the one running there if asked."""
    machine = lock_machine(conn, tenant_id, machine_id)
    if machine["status"] != "active":
        raise ValidationFailed(f"machine {machine['code']} is retired: nothing can start on it",
                               code="machine_retired", field="machine_id")
    if (body.operation_id is None) == (body.order_number is None):
        raise ValidationFailed("give operation_id or order_number (one of them)", code="operation_required",
                               field="operation_id")
    if body.operation_id is not None:
        operation = _operation(conn, tenant_id, body.operation_id)
        field_ = "operation_id"
    else:
        operation = _by_order_number(conn, tenant_id, machine, body.order_number or "")
        field_ = "order_number"
    order = _order(conn, tenant_id, operation["job_id"])
    current = open_run(conn, tenant_id, machine_id, for_update=True)
    if current is not None and current["operation_id"] == operation["id"]:
        raise _running_conflict(conn, tenant_id, machine, current)  # it runs here already
    _check_startable(conn, tenant_id, operation, order)
    check_allowed(conn, tenant_id, operation, machine, field_)
    ended: RowMapping | None = None
    changes: list[Change] = []
    if current is not None:
        if body.current is None:
            raise _running_conflict(conn, tenant_id, machine, current)
        first = end_run(conn, tenant_id, user_id, machine_id, "completed" if body.current == "complete" else "paused",
                        now)
        ended, changes = first.run, first.changes
    entry = allowed_entry(operation, machine_id)
    run = conn.execute(insert(runs).values(
        tenant_id=tenant_id, operation_id=operation["id"], machine_id=machine_id, started_at=now,
        cycle_seconds=Decimal(str(entry["cycle_seconds"])) if entry else None,
        parts_per_cycle=int(entry.get("parts_per_cycle") or 1) if entry else 1, operator_id=user_id,
    ).returning(runs)).mappings().one()
    changes.append(Change("create", "operation_run", run["id"], None, audit_json(run)))
    after = conn.execute(update(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation["id"])
                         .values(status="running", machine_id=machine_id, queue_position=None, updated_at=func.now())
                         .returning(ops)).mappings().one()
    changes.append(_status_change("order_operation", operation, after))
    _order_follows(conn, tenant_id, order["id"], changes)
    return RunResult(run=run, ended=ended, changes=changes)


def _status_change(entity: str, before: RowMapping, after: RowMapping) -> Change:
    keep = ("status", "machine_id", "queue_position", "final_good", "final_scrap")
    return Change("update", entity, before["id"], audit_json({k: before[k] for k in keep if k in before}),
                  audit_json({k: after[k] for k in keep if k in after}))


def _order_follows(conn: Connection, tenant_id: UUID, order_id: UUID, changes: list[Change]) -> None:
    before = conn.execute(select(jobs.c.status).where(jobs.c.tenant_id == tenant_id, jobs.c.id == order_id)).scalar_one()
    status = order_status_after_runs(conn, tenant_id, order_id)
    if status != before:
        changes.append(Change("update", "job", order_id, {"status": before}, {"status": status}))


def end_run(conn: Connection, tenant_id: UUID, user_id: UUID | None, machine_id: UUID, kind: str, now: datetime, *,
            final_good: int | None = None, final_scrap: int | None = None, reason: str | None = None) -> RunResult:
    """Pause or complete the machine's running operation; leaves its confirmation for the ERP."""
    machine = lock_machine(conn, tenant_id, machine_id)
    run = open_run(conn, tenant_id, machine_id, for_update=True)
    if run is None:
        raise Conflict(f"nothing runs on {machine['code']}", code="no_operation_running")
    operation = _operation(conn, tenant_id, run["operation_id"])
    end = max(now, run["started_at"])
    good, scrap = run_counts(conn, tenant_id, run["id"], end)
    ended = conn.execute(update(runs).where(runs.c.tenant_id == tenant_id, runs.c.id == run["id"])
                         .values(ended_at=end, end_kind=kind, ended_by=user_id).returning(runs)).mappings().one()
    after_run = (audit_json(ended) or {}) | ({"reason": reason} if reason else {})
    changes = [Change("update", "operation_run", run["id"], audit_json(run), after_run)]
    values: dict[str, Any] = {"status": kind, "updated_at": func.now()}
    if kind == "paused":
        values["queue_position"] = 0  # back at the head of this machine's queue
    else:
        values["queue_position"] = None
        if final_good is not None:
            values["final_good"] = final_good
        if final_scrap is not None:
            values["final_scrap"] = final_scrap
        # The final confirmation makes the operation's confirmed total equal the operator's figure.
        earlier = conn.execute(select(func.coalesce(func.sum(conf.c.good), 0), func.coalesce(func.sum(conf.c.scrap), 0))
                               .where(conf.c.tenant_id == tenant_id, conf.c.operation_id == operation["id"])).one()
        if final_good is not None:
            good = final_good - int(earlier[0])
        if final_scrap is not None:
            scrap = final_scrap - int(earlier[1])
    after = conn.execute(update(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation["id"])
                         .values(**values).returning(ops)).mappings().one()
    changes.append(_status_change("order_operation", operation, after))
    hold_for_write(conn, tenant_id)  # the ERP's reader waits for this row's commit (see confirmations.py)
    confirmation = conn.execute(insert(conf).values(
        tenant_id=tenant_id, job_id=operation["job_id"], operation_id=operation["id"], run_id=run["id"],
        machine_id=machine_id, good=good, scrap=scrap, started_at=run["started_at"], ended_at=end,
        operator_id=run["operator_id"], final=kind == "completed",
    ).returning(conf)).mappings().one()
    changes.append(Change("create", "order_confirmation", confirmation["id"], None, audit_json(confirmation)))
    _order_follows(conn, tenant_id, operation["job_id"], changes)
    return RunResult(run=ended, changes=changes)


def setup_done(conn: Connection, tenant_id: UUID, machine_id: UUID, now: datetime) -> RunResult:
    """The changeover is over: from now the run counts as production time."""
    machine = lock_machine(conn, tenant_id, machine_id)
    run = open_run(conn, tenant_id, machine_id, for_update=True)
    if run is None:
        raise Conflict(f"nothing runs on {machine['code']}", code="no_operation_running")
    if run["setup_ended_at"] is not None:
        raise Conflict(f"the setup of this run ended at {run['setup_ended_at'].isoformat()}",
                       code="setup_already_done")
    after = conn.execute(update(runs).where(runs.c.tenant_id == tenant_id, runs.c.id == run["id"])
                         .values(setup_ended_at=max(now, run["started_at"])).returning(runs)).mappings().one()
    return RunResult(run=after, changes=[Change("update", "operation_run", run["id"], audit_json(run), audit_json(after))])


def run_view(conn: Connection, tenant_id: UUID, run_id: UUID, now: datetime) -> dict[str, Any]:
    """A run with its order and what it and its operation counted (RunOut's fields)."""
    row = conn.execute(_run_select(tenant_id).where(runs.c.id == run_id)).mappings().one()
    run_good, run_scrap = run_counts(conn, tenant_id, run_id, row["ended_at"])
    good, scrap = operation_counts(conn, tenant_id, [row["operation_id"]])[row["operation_id"]]
    return dict(row) | {"run_good": run_good, "run_scrap": run_scrap, "good": good, "scrap": scrap,
                        "cycle_seconds": plain(row["cycle_seconds"])}


def plain(value: Decimal | None) -> Decimal | None:
    """12.500000 → 12.5, as the routing states it (numeric columns pad to their scale)."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def require_machine(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    row = conn.execute(select(machines).where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"machine {machine_id} not found", code="machine_not_found")
    return row
