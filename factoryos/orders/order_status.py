"""An order's status: what a planner may set by hand, and what the runs at the machines make it.

planned → released → running ↔ paused → completed; cancelled from planned, released or paused.
Running and paused follow the operations' runs (`order_status_after_runs`); a planner releases,
takes back to planned, cancels, or completes a paused order by hand (`set_order_status`).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, select, update

from factoryos.errors import Conflict
from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs, order_operations
from factoryos.schema.plant import machines

CLOSED = frozenset({"completed", "cancelled"})

# By hand: from → the statuses a planner may set. Running orders change at the machine only.
MANUAL: dict[str, frozenset[str]] = {
    "planned": frozenset({"released", "cancelled"}),
    "released": frozenset({"planned", "cancelled"}),
    "running": frozenset(),
    "paused": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}

# What each manual change does to the order's operations that are not closed yet.
_OPERATION_CHANGES: dict[str, dict[str, str]] = {
    "released": {"planned": "released"},
    "planned": {"released": "planned"},
    "cancelled": {"planned": "cancelled", "released": "cancelled", "paused": "cancelled"},
    # A paused operation ran: it completes with what it made; one never started is not done.
    "completed": {"paused": "completed", "planned": "cancelled", "released": "cancelled"},
}


def require_open(order: RowMapping) -> None:
    """Refuse work on a completed or cancelled order (starting, dispatching, editing its plan)."""
    if order["status"] in CLOSED:
        raise Conflict(f"order {order['job_number']} is {order['status']}: it cannot be started or changed",
                       code="order_closed", field="status")


def derived_status(current: str, operation_statuses: list[str]) -> str:
    """The order's status from its operations' (see module doc); `current` when they do not tell."""
    if current == "cancelled":
        return current
    if "running" in operation_statuses:
        return "running"
    if operation_statuses and set(operation_statuses) <= CLOSED and "completed" in operation_statuses:
        return "completed"
    # Some operation ran and nothing runs now (between operations, or paused): the order waits.
    if {"paused", "completed"} & set(operation_statuses):
        return "paused"
    return current


def _lock(conn: Connection, tenant_id: UUID, job_id: UUID) -> RowMapping:
    from factoryos.orders.orders import Orders  # the store imports this module

    return Orders(conn, tenant_id).require(job_id, for_update=True)


def lock_order(conn: Connection, tenant_id: UUID, job_id: UUID) -> RowMapping:
    """Lock the order's operations, then the order, for a change to both.

    Runs at the machines lock an operation first and the order after (`order_status_after_runs`):
    taking them in the same order here means the two wait for each other, never deadlock.
    """
    conn.execute(select(order_operations.c.id)
                 .where(order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == job_id)
                 .order_by(order_operations.c.id).with_for_update())
    return _lock(conn, tenant_id, job_id)


def _operation_statuses(conn: Connection, tenant_id: UUID, job_id: UUID) -> list[str]:
    stmt = select(order_operations.c.status).where(order_operations.c.tenant_id == tenant_id,
                                                   order_operations.c.job_id == job_id)
    return list(conn.execute(stmt).scalars())


def _write_status(conn: Connection, tenant_id: UUID, job_id: UUID, status: str, previous: str) -> RowMapping:
    stmt = (update(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
            .values(status=status, updated_at=func.now()).returning(jobs))
    row = conn.execute(stmt).mappings().one()
    emit(conn, tenant_id, [facts.order_status_changed(job_id, row["job_number"], status, previous, row["updated_at"])])
    return row


def order_status_after_runs(conn: Connection, tenant_id: UUID, job_id: UUID) -> str:
    """Recompute and store the order's status from its operations (after a run started or ended)."""
    order = _lock(conn, tenant_id, job_id)
    status = derived_status(order["status"], _operation_statuses(conn, tenant_id, job_id))
    if status != order["status"]:
        _write_status(conn, tenant_id, job_id, status, order["status"])
    return status


def _open_run_machine(conn: Connection, tenant_id: UUID, job_id: UUID) -> str | None:
    stmt = (select(machines.c.code)
            .select_from(operation_runs
                         .join(order_operations, and_(order_operations.c.tenant_id == operation_runs.c.tenant_id,
                                                      order_operations.c.id == operation_runs.c.operation_id))
                         .join(machines, and_(machines.c.tenant_id == operation_runs.c.tenant_id,
                                              machines.c.id == operation_runs.c.machine_id)))
            .where(operation_runs.c.tenant_id == tenant_id, order_operations.c.job_id == job_id,
                   operation_runs.c.ended_at.is_(None))
            .limit(1))
    return conn.execute(stmt).scalar()


def set_order_status(conn: Connection, tenant_id: UUID, order_id: UUID, status: str) -> tuple[RowMapping, RowMapping]:
    """A planner's change of status, checked against MANUAL; the operations follow. (before, after)."""
    order = lock_order(conn, tenant_id, order_id)
    current = order["status"]
    if status == current:
        return order, order
    if status not in MANUAL.get(current, frozenset()):
        raise Conflict(_refusal(order, status), code="invalid_transition", field="status",
                       extra={"current": current, "allowed": sorted(MANUAL.get(current, ()))})
    running_on = _open_run_machine(conn, tenant_id, order_id)
    if running_on is not None:
        raise Conflict(f"order {order['job_number']} runs on {running_on}: pause or complete it at the machine first",
                       code="order_running", field="status")
    for before, after in _OPERATION_CHANGES[status].items():
        values: dict[str, object] = {"status": after, "updated_at": func.now()}
        if after in ("planned", "cancelled", "completed"):
            values["queue_position"] = None  # off the machine's queue
        conn.execute(update(order_operations)
                     .where(order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == order_id,
                            order_operations.c.status == before)
                     .values(**values))
    return order, _write_status(conn, tenant_id, order_id, status, current)


def _refusal(order: RowMapping, status: str) -> str:
    number, current = order["job_number"], order["status"]
    if current in CLOSED:
        return f"order {number} is {current}: it cannot be set to {status}"
    if current == "running":
        return f"order {number} is running: pause or complete it at the machine"
    if status == "completed":
        return f"order {number} is {current}: only a paused order is completed by hand (cancel one never started)"
    return f"order {number} is {current}: it cannot be set to {status} from there"
