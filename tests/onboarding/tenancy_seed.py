"""One row per onboarding tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the production seeders: the job is planned on the machine they made.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _job(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(
        text("insert into jobs (tenant_id, job_number, product, quantity, due_date, site_id, machine_id) "
             "select :t, :n, 'Bracket', 100, date '2026-09-01', site_id, id from machines where tenant_id = :t limit 1"),
        {"t": t, "n": f"J-{tag}"},
    )


def _onboarding(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(
        text("insert into onboarding_state (tenant_id, current_step, steps) values "
             "(:t, 'import_jobs', '{\"connect_erp\": {\"status\": \"done\"}}')"),
        {"t": t},
    )


ONBOARDING_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "jobs": _job,
    "onboarding_state": _onboarding,
}
