"""One row per execution tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the onboarding seeders: the product's order is the job they made, run on its machine.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _product(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into products (tenant_id, number, name) values (:t, :n, :m)"),
                 {"t": t, "n": f"P-{tag}", "m": f"Bracket {tag}"})


def _routing_operation(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into routing_operations (tenant_id, product_id, seq, name) "
                      "select :t, id, 10, :n from products where tenant_id = :t limit 1"), {"t": t, "n": f"Press {tag}"})


def _routing_resource(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into routing_resources (tenant_id, operation_id, machine_id, cycle_seconds, parts_per_cycle) "
                      "select :t, o.id, m.id, 12.5, 2 from routing_operations o, machines m "
                      "where o.tenant_id = :t and m.tenant_id = :t limit 1"), {"t": t})


def _order_operation(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into order_operations (tenant_id, job_id, seq, name, quantity, status, machine_id) "
                      "select :t, id, 20, :n, quantity, 'released', machine_id from jobs where tenant_id = :t limit 1"),
                 {"t": t, "n": f"Press {tag}"})


def _operation_run(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, end_kind) "
                      "select :t, id, machine_id, now() - interval '1 hour', now(), 'paused' from order_operations "
                      "where tenant_id = :t and machine_id is not null limit 1"), {"t": t})


def _confirmation(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into order_confirmations (tenant_id, job_id, operation_id, run_id, machine_id, good, "
                      "scrap, started_at, ended_at, final) "
                      "select :t, o.job_id, o.id, r.id, r.machine_id, 40, 1, r.started_at, r.ended_at, false "
                      "from operation_runs r join order_operations o on o.id = r.operation_id "
                      "where r.tenant_id = :t limit 1"), {"t": t})


ORDERS_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "products": _product,
    "routing_operations": _routing_operation,
    "routing_resources": _routing_resource,
    "order_operations": _order_operation,
    "operation_runs": _operation_run,
    "order_confirmations": _confirmation,
}
