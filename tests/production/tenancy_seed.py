"""One row per production/plant tenant table for the isolation matrix (tests/tenancy_seed.py).

Each seeder builds on the site and membership seeded before it, and on the rows of the
seeders listed before it here (dict order).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _one(conn: Connection, sql: str, tenant: UUID) -> UUID:
    return conn.execute(text(sql + " where tenant_id = :t limit 1"), {"t": tenant}).scalar_one()


def _site(conn: Connection, t: UUID) -> UUID:
    return _one(conn, "select id from sites", t)


def _machine(conn: Connection, t: UUID) -> UUID:
    return _one(conn, "select id from machines", t)


def _user(conn: Connection, t: UUID) -> UUID:
    return _one(conn, "select user_id from memberships", t)


def _run(conn: Connection, sql: str, **params: object) -> None:
    conn.execute(text(sql), params)


def _area(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into areas (tenant_id, site_id, name, code) values (:t, :s, 'Hall', :c)",
         t=t, s=_site(conn, t), c=f"A-{tag}")


def _line(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into lines (tenant_id, site_id, area_id, name, code) values "
               "(:t, :s, (select id from areas where tenant_id = :t limit 1), 'Line', :c)",
         t=t, s=_site(conn, t), c=f"L-{tag}")


def _machines(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into machines (tenant_id, site_id, line_id, name, code, ideal_cycle_seconds) values "
               "(:t, :s, (select id from lines where tenant_id = :t limit 1), 'Press', :c, 30)",
         t=t, s=_site(conn, t), c=f"M-{tag}")


def _site_operator(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into site_operators (tenant_id, site_id, user_id) values (:t, :s, :u)",
         t=t, s=_site(conn, t), u=_user(conn, t))


def _shift_pattern(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into shift_patterns (tenant_id, site_id, name, start_time, end_time) "
               "values (:t, :s, 'Early', '06:00', '14:00')", t=t, s=_site(conn, t))


def _shift_instance(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into shift_instances (tenant_id, site_id, pattern_id, name, local_date, starts_at, ends_at) "
               "values (:t, :s, (select id from shift_patterns where tenant_id = :t limit 1), 'Early', "
               "'2026-03-02', '2026-03-02 05:00Z', '2026-03-02 13:00Z')", t=t, s=_site(conn, t))


def _instance(conn: Connection, t: UUID) -> UUID:
    return _one(conn, "select id from shift_instances", t)


def _loss_reason(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into loss_reasons (tenant_id, level, code, name, loss_bucket, planned) "
               "values (:t, 'category', 'SEED', 'Seed', 'quality', false)", t=t)


def _plan(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into production_plans (tenant_id, machine_id, shift_instance_id, target_quantity) "
               "values (:t, :m, :i, 100)", t=t, m=_machine(conn, t), i=_instance(conn, t))


def _entry(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into production_entries (tenant_id, machine_id, shift_instance_id, operator_id, good_quantity, "
               "started_at, ended_at) values (:t, :m, :i, :u, 10, '2026-03-02 05:00Z', '2026-03-02 06:00Z')",
         t=t, m=_machine(conn, t), i=_instance(conn, t), u=_user(conn, t))


def _rejection(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into rejection_entries (tenant_id, machine_id, shift_instance_id, operator_id, quantity, "
               "reason_id, occurred_at) values (:t, :m, :i, :u, 2, "
               "(select id from loss_reasons where tenant_id = :t limit 1), '2026-03-02 06:00Z')",
         t=t, m=_machine(conn, t), i=_instance(conn, t), u=_user(conn, t))


def _state_interval(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into machine_state_intervals (tenant_id, machine_id, state, raw_code, started_at, ended_at) "
               "values (:t, :m, 'unplanned_stop', 7, '2026-03-02 07:00Z', '2026-03-02 07:30Z')",
         t=t, m=_machine(conn, t))


def _count_bucket(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into machine_count_buckets (tenant_id, machine_id, minute, good, reject, delta_keys) "
               "values (:t, :m, '2026-03-02 08:00Z', 2, 0, '{k}')", t=t, m=_machine(conn, t))


def _downtime(conn: Connection, t: UUID, tag: str) -> None:
    _run(conn, "insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, "
               "needs_reason, state_interval_id) values (:t, :m, '2026-03-02 07:00Z', '2026-03-02 07:30Z', false, "
               "'machine', true, (select id from machine_state_intervals where tenant_id = :t limit 1))",
         t=t, m=_machine(conn, t))


PRODUCTION_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "areas": _area,
    "lines": _line,
    "machines": _machines,
    "site_operators": _site_operator,
    "shift_patterns": _shift_pattern,
    "shift_instances": _shift_instance,
    "loss_reasons": _loss_reason,
    "production_plans": _plan,
    "production_entries": _entry,
    "rejection_entries": _rejection,
    "machine_state_intervals": _state_interval,
    "machine_count_buckets": _count_bucket,
    "downtime_events": _downtime,
}
