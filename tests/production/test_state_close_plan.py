"""The state batch closes open intervals without joining the table with the batch's arrays.

A join of the company's open intervals with the batch's arrays, kept as a prepared statement, was
planned for arrays of no particular length; with the statistics of a plant (almost every interval
closed, so the open ones look like one row) it scanned them and rescanned the arrays once for each:
machines × closes. Planned with the batch's values the join is still a near tie between a hash join
and that nested loop. The close now finds its rows by key (`= any(...)`) and takes each end from
the array by its place: there is no join to plan badly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from factoryos.db.driver import PlannedEachTime, _query, run_batch
from factoryos.db.tenant import tenant_transaction
from factoryos.production.state_batch import _CLOSE_EVENTS, _CLOSE_INTERVALS, StateRow, record_state_changes
from tests.accounts import new_company
from tests.production import plant

MACHINES = 30
HISTORY = 360  # intervals per machine
T0 = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)


@pytest.fixture()
def running(api, app_engine, superuser_engine) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A company whose machines have changed state batch after batch on one connection (each batch
    closes every machine's open interval), its tables analyzed."""
    owner = new_company(api)
    site = plant.site(api, owner)
    tenant = uuid.UUID(owner.tenant_id)
    machines = [uuid.UUID(plant.machine(api, owner, site["id"])["id"]) for _ in range(MACHINES)]
    # A plant's history: a month of closed intervals before it (a small table is read whole, any plan).
    history = [(m, T0 - timedelta(hours=2 * (n + 1)), T0 - timedelta(hours=2 * n + 1))
               for m in machines for n in range(HISTORY)]
    with tenant_transaction(app_engine, tenant) as conn:
        conn.execute(text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at, ended_at) "
                          "select :t, u.m, 'running', u.s, u.e from unnest(cast(:m as uuid[]), "
                          "cast(:s as timestamptz[]), cast(:e as timestamptz[])) as u(m, s, e)"),
                     {"t": tenant, "m": [h[0] for h in history], "s": [h[1] for h in history],
                      "e": [h[2] for h in history]})
    with app_engine.connect() as conn:
        for n in range(8):  # more than the five runs after which PostgreSQL would keep a generic plan
            with conn.begin():
                conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
                record_state_changes(conn, tenant, [
                    StateRow(m, "running" if n % 2 else "idle", n % 2, T0 + timedelta(minutes=n, seconds=i))
                    for i, m in enumerate(machines)])
                prepared = conn.execute(text("select statement from pg_prepared_statements")).scalars().all()
            assert not [s for s in prepared if "update machine_state_intervals i set ended_at" in s]
    with superuser_engine.connect() as conn:
        conn.execute(text("analyze machine_state_intervals, downtime_events"))
        conn.commit()
    return tenant, machines


def _close_plan(conn, tenant: uuid.UUID, machines: list[uuid.UUID]) -> tuple[dict, dict[uuid.UUID, datetime]]:
    """The close of every machine's open interval, each at its own end, run; its plan and the ends."""
    opened = conn.execute(text("select machine_id, id from machine_state_intervals where ended_at is null "
                               "and machine_id = any(:m)"), {"m": machines}).all()
    assert len(opened) == MACHINES
    params = {"tenant": tenant, "machines": [r.machine_id for r in opened], "ids": [r.id for r in opened],
              "ends": [T0 + timedelta(hours=1, seconds=k) for k in range(len(opened))]}
    # As run_batch sends it: unnamed, planned with these values.
    explain = PlannedEachTime("explain (analyze, format json) " + _CLOSE_INTERVALS)
    rows = next(iter(run_batch(conn, [(explain, params)])[0][0].values()))
    (top,) = rows
    return top["Plan"], dict(zip(params["ids"], params["ends"], strict=True))


def _read(plan: dict) -> tuple[int, list[str]]:
    """Rows the plan's scans of the intervals read (kept and thrown away), and its joins."""
    rows = 0
    if plan.get("Relation Name") == "machine_state_intervals" and plan.get("Node Type") != "ModifyTable":
        rows += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * plan.get("Actual Loops", 1)
    joins = [plan["Node Type"]] if plan.get("Node Type") in ("Nested Loop", "Hash Join", "Merge Join") else []
    for child in plan.get("Plans", []):
        more, found = _read(child)
        rows, joins = rows + more, joins + found
    return rows, joins


def test_a_batch_closes_each_open_interval_with_one_look(app_engine, running) -> None:
    """Kept prepared, the join compared every open interval with every close (measured with 200
    machines: 39,800 rows thrown away by the join, 10 ms; planned with the values, 2.9 ms)."""
    tenant, machines = running
    with tenant_transaction(app_engine, tenant) as conn:
        planned, ends = _close_plan(conn, tenant, machines)
        closed = dict(conn.execute(text("select id, ended_at from machine_state_intervals where id = any(:i)"),
                                   {"i": list(ends)}).all())
        conn.rollback()
    rows, joins = _read(planned)
    assert joins == [] and rows <= 2 * MACHINES, _tree(planned)
    assert closed == ends  # each its own end


def _tree(plan: dict, depth: int = 0) -> str:
    line = "  " * depth + " ".join(str(plan.get(k, "")) for k in ("Node Type", "Index Name", "Actual Rows", "Actual Loops",
                                                                   "Plan Rows", "Rows Removed by Join Filter"))
    return "\n".join([line] + [_tree(p, depth + 1) for p in plan.get("Plans", [])])


def test_the_closes_are_sent_unprepared_and_the_rest_prepared(app_engine, running) -> None:
    tenant, machines = running
    with app_engine.connect() as conn, conn.begin():
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        record_state_changes(conn, tenant, [StateRow(m, "unplanned_stop", 9, T0 + timedelta(minutes=30))
                                            for m in machines])
        prepared = " ".join(conn.execute(text("select statement from pg_prepared_statements")).scalars())
    assert "insert into machine_state_intervals" in prepared and "for no key update of m" in prepared
    for close in (_CLOSE_INTERVALS, _CLOSE_EVENTS):
        assert _query(close).text.decode().strip()[:40] not in prepared
