"""0030: the overlap check of machine intervals and downtime events runs once per insert statement.

It must still refuse what the row trigger refused: rows of one statement that overlap each other
(the check reads the table as the statement left it), rows that overlap stored ones, and rows a
concurrent writer commits while this one waits for the machine's lock."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import set_tenant, tenant_transaction
from factoryos.production.state_batch import _INSERT_EVENTS
from tests.accounts import new_company
from tests.production import plant

T0 = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)

INTERVALS = text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at, ended_at) "
                 "select :t, u.m, 'running', u.s, u.e from unnest(cast(:m as uuid[]), cast(:s as timestamptz[]), "
                 "cast(:e as timestamptz[])) as u(m, s, e)")
EVENTS = text("insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, needs_reason) "
              "select :t, u.m, u.s, u.e, true, 'manual', false from unnest(cast(:m as uuid[]), "
              "cast(:s as timestamptz[]), cast(:e as timestamptz[])) as u(m, s, e)")


def at(minutes: float | None) -> datetime | None:
    return None if minutes is None else T0 + timedelta(minutes=minutes)


@pytest.fixture()
def machines(api):
    owner = new_company(api)
    site = plant.site(api, owner, micro_stop_seconds=120)
    return uuid.UUID(owner.tenant_id), [uuid.UUID(plant.machine(api, owner, site["id"])["id"]) for _ in range(2)]


def _insert(engine, tenant, statement, rows: list[tuple[uuid.UUID, float, float | None]]) -> None:
    with tenant_transaction(engine, tenant) as conn:
        conn.execute(statement, {"t": tenant, "m": [r[0] for r in rows], "s": [at(r[1]) for r in rows],
                                 "e": [at(r[2]) for r in rows]})


@pytest.mark.parametrize("statement", [INTERVALS, EVENTS], ids=["intervals", "downtime"])
def test_rows_of_one_statement_are_checked_against_each_other(app_engine, machines, statement) -> None:
    tenant, (a, b) = machines
    # Back to back, out of order, two machines at the same times, one open last: no overlap.
    _insert(app_engine, tenant, statement, [(a, 10, 20), (a, 0, 10), (b, 0, 10), (b, 10, 20), (a, 20, None)])
    clashes = [
        [(b, 30, 40), (b, 35, 50)],         # the second starts inside the first
        [(b, 30, 40), (b, 25, 45)],         # the second covers the first
        [(b, 30, None), (b, 40, 50)],       # an open one, then one after it started
        [(b, 40, 50), (b, 30, None)],       # the same, the open one listed last
        [(b, 30, 40), (a, 30, 40), (a, 25, 31)],  # only the other machine's pair clashes
    ]
    for rows in clashes:
        with pytest.raises(IntegrityError, match="overlaps"):
            _insert(app_engine, tenant, statement, rows)
    with pytest.raises(IntegrityError, match="overlaps"):  # with a stored one: its open last interval
        _insert(app_engine, tenant, statement, [(b, 30, 40), (a, 60, 70)])
    with tenant_transaction(app_engine, tenant) as conn:
        table = "machine_state_intervals" if statement is INTERVALS else "downtime_events"
        stored = conn.execute(text(f"select count(*) from {table}")).scalar_one()  # noqa: S608 - a fixed name
    assert stored == 5


def _wait_for_advisory_lock_waiter(engine, timeout: float = 20) -> bool:
    """Whether a session of the app role comes to wait on an advisory lock in an interval insert (seen
    from a third one: the role sees its own sessions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as watcher:
            if watcher.execute(text("select count(*) from pg_stat_activity where datname = current_database() "
                                    "and wait_event_type = 'Lock' and wait_event = 'advisory' "
                                    "and query like 'insert into machine_state_intervals%'")).scalar_one():
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_writer_waits_for_the_machine_and_sees_what_the_other_committed(app_engine, machines, outcome) -> None:
    """The second writer's statement waits on the machine's lock the first holds; once the first
    commits, the second's check sees its rows and refuses; once it rolls back, the second stores."""
    tenant, (a, _b) = machines
    first_inserted, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        first_inserted.wait(10)
        try:
            _insert(app_engine, tenant, INTERVALS, [(a, 5, 15)])
        except IntegrityError as exc:
            errors.append(exc)
        finally:
            second_done.set()

    writer = threading.Thread(target=second)
    writer.start()
    with app_engine.connect() as conn:
        set_tenant(conn, tenant)
        conn.execute(INTERVALS, {"t": tenant, "m": [a], "s": [at(0)], "e": [at(10)]})
        first_inserted.set()
        waiting = _wait_for_advisory_lock_waiter(app_engine)
        still_blocked = not second_done.is_set()
        conn.commit() if outcome == "commit" else conn.rollback()
    assert waiting and still_blocked, "the second writer did not wait for the machine's lock"
    writer.join(20)
    assert second_done.is_set()
    with tenant_transaction(app_engine, tenant) as check:
        starts = check.execute(text("select started_at from machine_state_intervals where machine_id = :m "
                                    "order by started_at"), {"m": a}).scalars().all()
    if outcome == "commit":
        assert len(errors) == 1 and "overlaps" in str(errors[0])
        assert starts == [at(0)]
    else:
        assert errors == []
        assert starts == [at(5)]


def _scans_of(plan: dict, relation: str) -> list[dict]:
    found = [plan] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, relation)
    return found


def test_machine_downtime_written_before_newer_downtime_checks_one_row_not_every_later_one(
        app_engine, superuser_engine, machines) -> None:
    """The batch writer's downtime insert looks for recorded downtime reaching into the new stop with one
    backward index step bounded by the stop's end. Written before the machine's newer downtime (a late
    change, an edge's backlog), the step walked every later event instead: 300 here."""
    tenant, (a, _) = machines
    _insert(app_engine, tenant, EVENTS, [(a, 60 + 10 * n, 65 + 10 * n) for n in range(300)])
    with superuser_engine.connect() as conn:  # the statistics a plant's history gives the planner
        conn.execute(text("analyze downtime_events"))
        conn.commit()
    with tenant_transaction(app_engine, tenant) as conn:
        explained = conn.exec_driver_sql("explain (analyze, format json) " + _INSERT_EVENTS, {
            "tenant": tenant, "machines": [a], "starts": [at(10)], "ends": [at(20)], "intervals": [None],
            "updated": [None]}).scalar_one()
        conn.rollback()
    (top,) = explained
    scans = _scans_of(top["Plan"], "downtime_events")
    assert scans, top["Plan"]
    read = sum(s.get("Actual Rows", 0) * s.get("Actual Loops", 1) + s.get("Rows Removed by Filter", 0) for s in scans)
    assert read <= 2, [{k: s.get(k) for k in ('Node Type', 'Index Name', 'Index Cond', 'Filter', 'Actual Rows', 'Rows Removed by Filter')} for s in scans]
