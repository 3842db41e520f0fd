"""Machine queues: released operations dispatched to a machine, in order, laid onto its shifts.

An operation is in a machine's queue while it is released or paused there (`machine_id`), ordered
by `queue_position` (then due date). Its planned start and end come from the work left — setup
plus the remaining quantity at the standard (the routing's cycle ÷ parts per cycle on that
machine, else the machine's own ideal cycle) — laid onto the site's shift instances; time outside
shifts and breaks is not working time. Work past the horizon is overload, shown with its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, nulls_last, select, update

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.kpi import Interval
from factoryos.orders.order_status import CLOSED, require_open
from factoryos.orders.progress import operation_counts
from factoryos.orders.run_models import DispatchIn, QueueItem, QueueOut, RunOut
from factoryos.orders.runs import (
    Change,
    allowed_entry,
    audit_json,
    check_allowed,
    lock_machine,
    open_run,
    plain,
    run_view,
)
from factoryos.orders.runs import require_machine as machine_row
from factoryos.plant.machines import require_machine
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import Sites
from factoryos.production.records import ShiftInstanceRecord
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import order_operations as ops
from factoryos.schema.orders import products
from factoryos.schema.plant import machines

QUEUED = ("released", "paused")
# A site's shift instances overlapping [start, end), stored or computed, by start (production.shifts'
# `instances_overlapping`, handed in by the caller: production reads runs, so orders may not import it).
ShiftSource = Callable[[Connection, UUID, SiteRecord, datetime, datetime], list[ShiftInstanceRecord]]
# How far ahead the calendar is read to place a long queue (beyond it planned ends stay null).
LOOKAHEAD = timedelta(days=62)


def _queued(conn: Connection, tenant_id: UUID, machine_id: UUID, *, lock: bool = False) -> list[RowMapping]:
    stmt = (
        select(ops, jobs.c.job_number, jobs.c.due_date,
               func.coalesce(products.c.name, jobs.c.product).label("product_name"))
        .select_from(ops.join(jobs, and_(jobs.c.tenant_id == ops.c.tenant_id, jobs.c.id == ops.c.job_id))
                     .outerjoin(products, and_(products.c.tenant_id == jobs.c.tenant_id,
                                               products.c.id == jobs.c.product_id)))
        .where(ops.c.tenant_id == tenant_id, ops.c.machine_id == machine_id, ops.c.status.in_(QUEUED),
               jobs.c.status.not_in(CLOSED))
        .order_by(nulls_last(ops.c.queue_position.asc()), jobs.c.due_date, jobs.c.created_at, ops.c.seq)
    )
    if lock:
        stmt = stmt.with_for_update(of=ops)
    return list(conn.execute(stmt).mappings())


def seconds_per_part(operation: RowMapping | dict[str, Any], machine: RowMapping) -> tuple[Decimal, str]:
    """The operation's standard on this machine, per part, and where it comes from."""
    entry = allowed_entry(operation, machine["id"])  # type: ignore[arg-type]
    if entry is not None:
        return Decimal(str(entry["cycle_seconds"])) / int(entry.get("parts_per_cycle") or 1), "routing"
    return Decimal(machine["ideal_cycle_seconds"]), "machine"


@dataclass
class Calendar:
    """Working intervals from now (shifts minus breaks), consumed in order."""

    intervals: list[Interval]

    def available(self, start: datetime, end: datetime) -> timedelta:
        return sum((min(i.end, end) - max(i.start, start) for i in self.intervals if i.start < end and start < i.end),
                   timedelta())

    def lay(self, start: datetime, work: timedelta) -> tuple[datetime | None, datetime | None]:
        """Where `work` starting at `start` begins and ends in working time (None: past the calendar)."""
        begin: datetime | None = None
        left = work
        for i in self.intervals:
            if i.end <= start:
                continue
            at = max(i.start, start)
            if begin is None:
                begin = at
            room = i.end - at
            if left <= room:
                return begin, at + left
            left -= room
            start = i.end
        return begin, None


def _calendar(conn: Connection, tenant_id: UUID, site: SiteRecord, now: datetime, shifts: int,
              source: ShiftSource) -> tuple[Calendar, datetime | None]:
    rows = [r for r in source(conn, tenant_id, site, now, now + LOOKAHEAD) if r["ends_at"] > now]
    intervals: list[Interval] = []
    for row in rows:
        cuts = sorted((datetime.fromisoformat(b[0]), datetime.fromisoformat(b[1])) for b in row["breaks"])
        at = max(row["starts_at"], now)
        for b_start, b_end in [*cuts, (row["ends_at"], row["ends_at"])]:
            if b_start > at:
                intervals.append(Interval(at, b_start))
            at = max(at, b_end)
    intervals.sort(key=lambda i: i.start)
    merged: list[Interval] = []
    for i in intervals:  # overlapping shifts are one working time, not two
        if merged and i.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, i.end))
        else:
            merged.append(i)
    horizon = rows[shifts - 1]["ends_at"] if len(rows) >= shifts else (rows[-1]["ends_at"] if rows else None)
    return Calendar(merged), horizon


def _seconds(value: Decimal) -> timedelta:
    return timedelta(microseconds=int(value * 1_000_000))


def machine_queue(conn: Connection, tenant_id: UUID, machine_id: UUID, now: datetime, shift_source: ShiftSource,
                  shifts: int = 3) -> QueueOut:
    machine = machine_row(conn, tenant_id, machine_id)
    site = Sites(conn, tenant_id).require(machine["site_id"])
    queued = _queued(conn, tenant_id, machine_id)
    current = open_run(conn, tenant_id, machine_id)
    running = run_view(conn, tenant_id, current["id"], now) if current else None
    counts = operation_counts(conn, tenant_id, [q["id"] for q in queued])
    calendar, horizon = _calendar(conn, tenant_id, site, now, shifts, shift_source)
    cursor = now
    total = Decimal(0)
    placed = True  # false once the calendar has no working time left
    if running is not None:  # the machine is busy with it first
        per_part = (Decimal(running["cycle_seconds"]) / running["parts_per_cycle"] if running["cycle_seconds"]
                    else Decimal(machine["ideal_cycle_seconds"]))
        left = max(0, running["quantity"] - running["good"]) * per_part
        if running["setup_ended_at"] is None and running["run_good"] == 0:
            elapsed = Decimal(str((now - running["started_at"]).total_seconds()))
            left += max(Decimal(0), Decimal(running["setup_seconds"]) - elapsed)
        total += left
        _, end = calendar.lay(cursor, _seconds(left))
        placed = end is not None
        cursor = end or cursor
    items = []
    for position, q in enumerate(queued, start=1):
        good = counts.get(q["id"], (0, 0))[0]
        remaining = max(0, q["quantity"] - good)
        per_part, source = seconds_per_part(q, machine)
        work = Decimal(q["setup_seconds"]) + remaining * per_part
        total += work
        start = end = None
        if placed:
            start, end = calendar.lay(cursor, _seconds(work))
            placed = end is not None
            cursor = end or cursor
        items.append(QueueItem(
            operation_id=q["id"], job_id=q["job_id"], job_number=q["job_number"], product_name=q["product_name"],
            operation_seq=q["seq"], operation_name=q["name"], status=q["status"], position=position,
            quantity=q["quantity"], good=good, remaining=remaining, setup_seconds=plain(Decimal(q["setup_seconds"])),
            cycle_seconds=plain(per_part), standard=source, work_seconds=plain(work), planned_start=start,
            planned_end=end, due_date=q["due_date"],
        ))
    room = Decimal(str(calendar.available(now, horizon).total_seconds())) if horizon else Decimal(0)
    over = max(Decimal(0), total - room)
    return QueueOut(machine_id=machine_id, at=now, horizon_end=horizon,
                    running=RunOut.model_validate(running) if running else None, items=items,
                    overloaded=over > 0, overload_seconds=plain(over.quantize(Decimal("0.001"))))


# --- planners' changes ---------------------------------------------------------------------


def _lock_machine(conn: Connection, tenant_id: UUID, machine_id: UUID, field: str) -> MachineRecord:
    machine = require_machine(conn, tenant_id, machine_id, field=field)
    conn.execute(select(machines.c.id).where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
                 .with_for_update())
    return machine


def _renumber(conn: Connection, tenant_id: UUID, ids: list[UUID]) -> None:
    for position, op_id in enumerate(ids, start=1):
        conn.execute(update(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == op_id)
                     .values(queue_position=position, updated_at=func.now()))


def reorder_queue(conn: Connection, tenant_id: UUID, machine_id: UUID, operation_ids: list[UUID]) -> Change:
    """Put the machine's queue in the given order: exactly the queued operations, each once."""
    lock_machine(conn, tenant_id, machine_id)
    queued = [q["id"] for q in _queued(conn, tenant_id, machine_id, lock=True)]
    given = list(operation_ids)
    if len(set(given)) != len(given) or set(given) != set(queued):
        missing = [str(i) for i in queued if i not in set(given)]
        unexpected = [str(i) for i in dict.fromkeys(given) if i not in set(queued)]
        repeated = sorted({str(i) for i in given if given.count(i) > 1})
        raise ValidationFailed(
            "operation_ids must list exactly the operations queued on this machine, each once "
            f"({len(missing)} missing, {len(unexpected)} not queued here, {len(repeated)} repeated)",
            code="queue_mismatch", field="operation_ids",
            extra={"missing": missing, "unexpected": unexpected, "repeated": repeated})
    _renumber(conn, tenant_id, given)
    return Change("update", "machine_queue", machine_id, {"operation_ids": [str(i) for i in queued]},
                  {"operation_ids": [str(i) for i in given]})


def dispatch_operation(conn: Connection, tenant_id: UUID, operation_id: UUID, body: DispatchIn) -> Change:
    """Queue a released (or paused) operation on a machine that may run it, at `position` (default: last)."""
    operation = conn.execute(select(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation_id)
                             .with_for_update()).mappings().first()
    if operation is None:
        raise NotFound(f"operation {operation_id} not found", code="operation_not_found", field="operation_id")
    order = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == operation["job_id"])
                         ).mappings().one()
    require_open(order)
    status = operation["status"]
    if status == "running":
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} is running: pause it first",
                       code="operation_busy", field="operation_id")
    if status in CLOSED:
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} is {status}",
                       code="operation_closed", field="operation_id")
    if status not in QUEUED:
        raise Conflict(f"operation {operation['seq']} of order {order['job_number']} is {status}: release the order first",
                       code="operation_not_released", field="operation_id")
    machine = _lock_machine(conn, tenant_id, body.machine_id, "machine_id")
    if machine["status"] != "active":
        raise ValidationFailed(f"machine {machine['code']} is retired", code="machine_retired", field="machine_id")
    check_allowed(conn, tenant_id, operation, machine, "machine_id")
    queue = [q["id"] for q in _queued(conn, tenant_id, machine["id"], lock=True) if q["id"] != operation_id]
    at = len(queue) if body.position is None else min(body.position - 1, len(queue))
    queue.insert(at, operation_id)
    conn.execute(update(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation_id)
                 .values(machine_id=machine["id"], updated_at=func.now()))
    _renumber(conn, tenant_id, queue)
    after = conn.execute(select(ops).where(ops.c.tenant_id == tenant_id, ops.c.id == operation_id)).mappings().one()
    keep = ("machine_id", "queue_position", "status")
    return Change("update", "order_operation", operation_id, audit_json({k: operation[k] for k in keep}),
                  audit_json({k: after[k] for k in keep}))
