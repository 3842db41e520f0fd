"""An order as its report needs it: the order (`factoryos.orders.get_order`: its operations with
their counts), and the runs of each operation.

Counts per operation follow the execution rules (`factoryos.orders.progress`): PLC minutes by
the run that holds their midpoint, entries and rejections by their operation.
A run's setup lasts until `setup_ended_at`, or else until the first minute that counted parts
in it, or else until the run ended (or now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, text

from factoryos.errors import NotFound
from factoryos.orders.order_models import OrderOut
from factoryos.orders.orders import get_order
from factoryos.plant.records import MachineRecord
from factoryos.schema.identity import users
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs as runs
from factoryos.schema.plant import machines


@dataclass(frozen=True)
class OrderRun:
    id: UUID
    operation_id: UUID
    machine_id: UUID
    started_at: datetime
    ended_at: datetime | None  # None: still running
    end_kind: str | None
    operator: str | None
    setup: timedelta  # the changeover the run opened with

    def end(self, now: datetime) -> datetime:
        return self.ended_at or max(self.started_at, now)


@dataclass(frozen=True)
class OrderOperation:
    id: UUID
    seq: int
    name: str
    quantity: int
    status: str
    standard_setup: timedelta
    machine_id: UUID | None  # dispatched to (or running on)
    good: int
    scrap: int
    runs: tuple[OrderRun, ...]

    @property
    def label(self) -> str:
        return f"{self.seq} {self.name}"


@dataclass(frozen=True)
class OrderData:
    id: UUID
    number: str
    product: str  # "number name" for a product of the catalogue, else the job's product text
    quantity: int
    due_date: date
    customer: str | None
    status: str
    site_id: UUID | None
    created_at: datetime
    operations: tuple[OrderOperation, ...]
    machines: dict[UUID, MachineRecord]  # every machine a run used or an operation is dispatched to

    @property
    def runs(self) -> list[OrderRun]:
        return sorted((r for o in self.operations for r in o.runs), key=lambda r: r.started_at)

    @property
    def good(self) -> int:
        """Finished parts: the last operation's good count (each operation works the same parts)."""
        return self.operations[-1].good if self.operations else 0


def find_order(conn: Connection, tenant_id: UUID, *, order_id: UUID | None = None,
               number: str | None = None) -> OrderOut:
    """The order with its operations and their counts, by id or by number (404 `order_not_found`
    naming the query's field)."""
    stmt = select(jobs.c.id).where(jobs.c.tenant_id == tenant_id)
    if order_id is not None:
        found = conn.execute(stmt.where(jobs.c.id == order_id)).scalar()
        what, field = str(order_id), "order_id"
    else:
        assert number is not None
        found = conn.execute(stmt.where(jobs.c.job_number == number.strip())).scalar()
        what, field = repr(number.strip()), "number"
    if found is None:
        raise NotFound(f"no order {what}", code="order_not_found", field=field)
    return get_order(conn, tenant_id, found)


# The first counted moment of each run: a PLC minute it holds (by the minute's midpoint) or an entry
# booked to its operation on its machine inside it.
_FIRST_COUNT = text(
    """
    select r.id, least(
      (select min(b.minute) from machine_count_buckets b
        where b.tenant_id = r.tenant_id and b.machine_id = r.machine_id and b.good + b.reject > 0
          and b.minute >= r.started_at - interval '30 seconds'
          and (r.ended_at is null or b.minute < r.ended_at - interval '30 seconds')),
      (select min(e.started_at) from production_entries e
        where e.tenant_id = r.tenant_id and e.operation_id = r.operation_id and e.machine_id = r.machine_id
          and e.good_quantity > 0 and e.started_at >= r.started_at
          and (r.ended_at is null or e.started_at < r.ended_at))) as first_count
    from operation_runs r where r.tenant_id = :tenant and r.id = any(cast(:runs as uuid[]))
    """
)


def _setup(run: RowMapping, first_count: datetime | None, now: datetime) -> timedelta:
    end = run["setup_ended_at"] or first_count or run["ended_at"] or now
    return max(timedelta(), min(end, run["ended_at"] or now) - run["started_at"])


def load_order(conn: Connection, tenant_id: UUID, order: OrderOut, now: datetime) -> OrderData:
    op_ids = [o.id for o in order.operations]
    run_rows = conn.execute(
        select(runs, func.coalesce(users.c.display_name, users.c.email).label("operator"))
        .select_from(runs.outerjoin(users, users.c.id == runs.c.operator_id))
        .where(runs.c.tenant_id == tenant_id, runs.c.operation_id.in_(op_ids))
        .order_by(runs.c.started_at)
    ).mappings().all() if op_ids else []
    first: dict[UUID, datetime | None] = {}
    if run_rows:
        params = {"tenant": tenant_id, "runs": [str(r["id"]) for r in run_rows]}
        first = {row[0]: row[1] for row in conn.execute(_FIRST_COUNT, params)}
    per_op: dict[UUID, list[OrderRun]] = {i: [] for i in op_ids}
    for r in run_rows:
        per_op[r["operation_id"]].append(OrderRun(
            id=r["id"], operation_id=r["operation_id"], machine_id=r["machine_id"], started_at=r["started_at"],
            ended_at=r["ended_at"], end_kind=r["end_kind"], operator=r["operator"],
            setup=_setup(r, first.get(r["id"]), now)))
    operations = tuple(
        OrderOperation(
            id=o.id, seq=o.seq, name=o.name, quantity=o.quantity, status=str(o.status),
            standard_setup=timedelta(seconds=float(o.setup_seconds)), machine_id=o.machine_id,
            good=o.good, scrap=o.scrap, runs=tuple(per_op[o.id]))
        for o in order.operations
    )
    machine_ids = {r["machine_id"] for r in run_rows} | {o.machine_id for o in operations if o.machine_id}
    machine_rows = conn.execute(
        select(machines).where(machines.c.tenant_id == tenant_id, machines.c.id.in_(machine_ids))
    ).mappings().all() if machine_ids else []
    product = f"{order.product_number} {order.product_name}" if order.product_name else order.product
    return OrderData(
        id=order.id, number=order.job_number, product=product, quantity=order.quantity, due_date=order.due_date,
        customer=order.customer, status=str(order.status), site_id=order.site_id, created_at=order.created_at,
        operations=operations, machines={m["id"]: cast(MachineRecord, m) for m in machine_rows},
    )
