"""One row per maintenance tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the production seeders: the asset is their machine's, the mould is mounted on it.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _asset(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into maintenance_assets (tenant_id, kind, machine_id, serial) "
                      "select :t, 'machine', id, :s from machines where tenant_id = :t limit 1"),
                 {"t": t, "s": f"SN-{tag}"})
    conn.execute(text("insert into maintenance_assets (tenant_id, kind, name, code, movable) "
                      "values (:t, 'mould', :n, :c, true)"), {"t": t, "n": f"Mould {tag}", "c": f"MO-{tag}"})


def _mounting(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into maintenance_mountings (tenant_id, asset_id, machine_id, mounted_at) "
                      "select :t, a.id, m.id, now() from maintenance_assets a, machines m "
                      "where a.tenant_id = :t and m.tenant_id = :t and a.movable limit 1"), {"t": t})


def _plan(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into maintenance_plans (tenant_id, asset_id, name, every_run_hours) "
                      "select :t, id, :n, 500 from maintenance_assets where tenant_id = :t and kind = 'machine' "
                      "limit 1"), {"t": t, "n": f"Service {tag}"})


def _work_order(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into maintenance_work_orders (tenant_id, number, kind, status, asset_id, plan_id, title) "
                      "select :t, 1, 'preventive', 'approved', asset_id, id, name from maintenance_plans "
                      "where tenant_id = :t limit 1"), {"t": t})


MAINTENANCE_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "maintenance_assets": _asset,
    "maintenance_mountings": _mounting,
    "maintenance_plans": _plan,
    "maintenance_work_orders": _work_order,
}
