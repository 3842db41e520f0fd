"""One row per quality tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the production and orders seeders: the plan is for their product on their machine.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _plan(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into inspection_plans (tenant_id, name, product_id, machine_id) "
                      "select :t, :n, p.id, m.id from products p, machines m "
                      "where p.tenant_id = :t and m.tenant_id = :t limit 1"), {"t": t, "n": f"Plan {tag}"})


def _version(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into inspection_plan_versions (tenant_id, plan_id, version, status, every_parts, "
                      "released_at) select :t, id, 1, 'released', 50, now() from inspection_plans "
                      "where tenant_id = :t limit 1"), {"t": t})


def _characteristic(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into inspection_characteristics (tenant_id, version_id, lineage_id, seq, name, kind, "
                      "lsl, usl, sample_size) select :t, id, gen_random_uuid(), 10, :n, 'measured', 9.95, 10.05, 3 "
                      "from inspection_plan_versions where tenant_id = :t limit 1"), {"t": t, "n": f"Bore {tag}"})


def _inspection(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into inspections (tenant_id, plan_id, version_id, machine_id, product_id, trigger, "
                      "result) select :t, p.id, v.id, p.machine_id, p.product_id, 'manual', 'pass' "
                      "from inspection_plans p join inspection_plan_versions v on v.plan_id = p.id "
                      "where p.tenant_id = :t limit 1"), {"t": t})


def _result(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into inspection_results (tenant_id, inspection_id, characteristic_id, lineage_id, "
                      "values, out_of_spec) select :t, i.id, c.id, c.lineage_id, array[10.0, 10.01, 9.99], false "
                      "from inspections i join inspection_characteristics c on c.version_id = i.version_id "
                      "where i.tenant_id = :t limit 1"), {"t": t})


QUALITY_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "inspection_plans": _plan,
    "inspection_plan_versions": _version,
    "inspection_characteristics": _characteristic,
    "inspections": _inspection,
    "inspection_results": _result,
}
