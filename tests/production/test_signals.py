"""Machine signals as the connectivity sink writes them: count buckets and state intervals,
through the app role with RLS, and the downtime events long stops open."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ValidationFailed
from factoryos.production.signals import CountRow, flag_overdue_stops, record_counts, record_state_change
from factoryos.production.signals import StateOutcome
from factoryos.schema.production import downtime_events, machine_count_buckets, machine_state_intervals
from tests.accounts import new_company
from tests.production import plant

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def machine(api):
    owner = new_company(api)
    site = plant.site(api, owner, micro_stop_seconds=120)
    m = plant.machine(api, owner, site["id"])
    return uuid.UUID(owner.tenant_id), uuid.UUID(m["id"])


@pytest.fixture()
def fresh_machine(api):
    owner = new_company(api)
    site = plant.site(api, owner, micro_stop_seconds=120)
    return uuid.UUID(owner.tenant_id), uuid.UUID(plant.machine(api, owner, site["id"])["id"])


def buckets(engine: Engine, tenant, machine_id) -> list[tuple[datetime, int, int]]:
    with tenant_transaction(engine, tenant) as conn:
        rows = conn.execute(select(machine_count_buckets.c.minute, machine_count_buckets.c.good,
                                   machine_count_buckets.c.reject)
                            .where(machine_count_buckets.c.machine_id == machine_id)
                            .order_by(machine_count_buckets.c.minute))
        return [tuple(r) for r in rows]


def test_counts_are_summed_per_minute_and_replays_add_nothing(app_engine, machine) -> None:
    tenant, m = machine
    batch = [
        CountRow(m, at(0), 10, 1, "run1.1"),
        CountRow(m, at(0) + timedelta(seconds=40), 5, 0, "run1.2"),  # same minute, own key
        CountRow(str(m), at(1), 12, 0, "run1.3"),
        CountRow(m, at(0), 10, 1, "run1.1"),  # duplicate inside the batch
    ]
    with tenant_transaction(app_engine, tenant) as conn:
        assert record_counts(conn, tenant, batch) == 3
    with tenant_transaction(app_engine, tenant) as conn:  # the spool replays everything
        assert record_counts(conn, tenant, batch + [CountRow(m, at(1), 3, 2, "run2.1")]) == 1
    assert buckets(app_engine, tenant, m) == [(at(0), 15, 1), (at(1), 15, 2)]


def test_counts_for_unknown_or_foreign_machines_are_refused(app_engine, machine, api) -> None:
    tenant, m = machine
    other_tenant, other_machine = uuid.UUID(new_company(api).tenant_id), m
    with pytest.raises(ValidationFailed) as err, tenant_transaction(app_engine, tenant) as conn:
        record_counts(conn, tenant, [CountRow(uuid.uuid4(), at(5), 1, 0, "x.1")])
    assert err.value.code == "machine_not_found"
    with pytest.raises(ValidationFailed), tenant_transaction(app_engine, other_tenant) as conn:
        record_counts(conn, other_tenant, [CountRow(other_machine, at(5), 1, 0, "x.2")])
    with pytest.raises(ValidationFailed) as err, tenant_transaction(app_engine, tenant) as conn:
        record_counts(conn, tenant, [CountRow(m, at(5), -1, 0, "x.3")])
    assert err.value.field == "good"


def intervals(engine, tenant, machine_id):
    with tenant_transaction(engine, tenant) as conn:
        return [tuple(r) for r in conn.execute(
            select(machine_state_intervals.c.state, machine_state_intervals.c.raw_code,
                   machine_state_intervals.c.started_at, machine_state_intervals.c.ended_at)
            .where(machine_state_intervals.c.machine_id == machine_id).order_by(machine_state_intervals.c.started_at))]


def events(engine, tenant, machine_id):
    with tenant_transaction(engine, tenant) as conn:
        return [tuple(r) for r in conn.execute(
            select(downtime_events.c.started_at, downtime_events.c.ended_at, downtime_events.c.source,
                   downtime_events.c.needs_reason, downtime_events.c.planned)
            .where(downtime_events.c.machine_id == machine_id).order_by(downtime_events.c.started_at))]


def change(engine, tenant, machine_id, state, code, when):
    with tenant_transaction(engine, tenant) as conn:
        return record_state_change(conn, tenant, machine_id, state, code, when)


def test_state_changes_make_intervals_and_ignore_replays(app_engine, fresh_machine) -> None:
    tenant, m = fresh_machine
    assert change(app_engine, tenant, m, "running", 1, at(0)) == StateOutcome.OPENED
    assert change(app_engine, tenant, m, "running", 1, at(3)) == StateOutcome.UNCHANGED
    assert change(app_engine, tenant, m, "idle", 2, at(10)) == StateOutcome.OPENED
    assert change(app_engine, tenant, m, "idle", 2, at(10)) == StateOutcome.DUPLICATE
    assert change(app_engine, tenant, m, "running", 1, at(0)) == StateOutcome.DUPLICATE
    assert change(app_engine, tenant, m, "running", 1, at(3)) == StateOutcome.DUPLICATE
    # Late (another ingest process stored the later ones first): fitted in, not ignored.
    assert change(app_engine, tenant, m, "setup", 5, at(5)) == StateOutcome.OPENED
    assert change(app_engine, tenant, m, "setup", 5, at(5)) == StateOutcome.DUPLICATE
    assert intervals(app_engine, tenant, m) == [("running", 1, at(0), at(5)), ("setup", 5, at(5), at(10)),
                                                ("idle", 2, at(10), None)]
    with pytest.raises(ValidationFailed) as err:
        change(app_engine, tenant, m, "exploded", 9, at(20))
    assert err.value.field == "state"


def test_only_stops_reaching_the_threshold_wait_for_a_reason(app_engine, fresh_machine) -> None:
    tenant, m = fresh_machine
    change(app_engine, tenant, m, "running", 1, at(0))
    change(app_engine, tenant, m, "unplanned_stop", 9, at(10))      # 90 s: a micro-stop
    change(app_engine, tenant, m, "running", 1, at(11.5))
    change(app_engine, tenant, m, "unplanned_stop", 9, at(20))      # 70 s + 70 s with two codes: one long stop
    change(app_engine, tenant, m, "unplanned_stop", 12, at(20) + timedelta(seconds=70))
    change(app_engine, tenant, m, "running", 1, at(20) + timedelta(seconds=140))
    change(app_engine, tenant, m, "planned_stop", 3, at(30))        # planned: no reason asked
    change(app_engine, tenant, m, "offline", None, at(60))
    assert events(app_engine, tenant, m) == [
        (at(20), at(20) + timedelta(seconds=70), "machine", True, False),
        (at(20) + timedelta(seconds=70), at(20) + timedelta(seconds=140), "machine", True, False),
    ]
    # Still offline: the sweep opens an event once the threshold has passed, and the next change closes it.
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, at(61)) == 0
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, at(62)) == 1
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, at(70)) == 0
    assert events(app_engine, tenant, m)[-1] == (at(60), None, "machine", True, False)
    change(app_engine, tenant, m, "running", 1, at(75))
    assert events(app_engine, tenant, m)[-1] == (at(60), at(75), "machine", True, False)


def test_the_database_refuses_overlapping_intervals(superuser_engine, app_engine, fresh_machine) -> None:
    tenant, m = fresh_machine
    change(app_engine, tenant, m, "running", 1, at(0))
    change(app_engine, tenant, m, "idle", 2, at(10))
    with pytest.raises(IntegrityError, match="overlaps"), tenant_transaction(app_engine, tenant) as conn:
        conn.execute(text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at, ended_at) "
                          "values (:t, :m, 'setup', :s, :e)"), {"t": tenant, "m": m, "s": at(5), "e": at(6)})
    with pytest.raises(IntegrityError, match="overlaps"), tenant_transaction(app_engine, tenant) as conn:
        conn.execute(text("insert into downtime_events (tenant_id, machine_id, started_at, planned, source, "
                          "needs_reason) values (:t, :m, :s, true, 'manual', false), "
                          "(:t, :m, :s2, true, 'manual', false)"),
                     {"t": tenant, "m": m, "s": at(100), "s2": at(200)})


@pytest.mark.parametrize(("start", "end", "clashes"), [
    (-10, -5, False),     # before all
    (-10, 1, True),       # into the first
    (10, 20, False),      # exactly the gap between the first and the second
    (12, 15, False),      # inside the gap
    (15, 45, True),       # from the gap across the second and the third
    (31, 32, True),       # inside the third
    (5, 10, True),        # the end of the first
    (40, 48, False),      # exactly the gap before the open last one
    (42, 49, True),       # into the open last one
    (60, None, True),     # after the open last one started
    (45, None, True),     # open, from the gap: reaches into the open last one
    (-5, None, True),     # open, from before all
])
def test_the_overlap_check_finds_any_clash_from_one_row(app_engine, fresh_machine, start, end, clashes) -> None:
    """Intervals [0,10) [20,30) [30,40) [48,…): whatever the case, one row decides."""
    tenant, m = fresh_machine
    with tenant_transaction(app_engine, tenant) as conn:
        conn.execute(text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at, ended_at) "
                          "select :t, :m, 'running', s, e from unnest(cast(:s as timestamptz[]), "
                          "cast(:e as timestamptz[])) as u(s, e)"),
                     {"t": tenant, "m": m, "s": [at(0), at(20), at(30), at(48)],
                      "e": [at(10), at(30), at(40), None]})
    insert = text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at, ended_at) "
                  "values (:t, :m, 'idle', :s, :e)")
    params = {"t": tenant, "m": m, "s": at(start), "e": at(end) if end is not None else None}
    if clashes:
        with pytest.raises(IntegrityError, match="overlaps"), tenant_transaction(app_engine, tenant) as conn:
            conn.execute(insert, params)
    else:
        with tenant_transaction(app_engine, tenant) as conn:
            conn.execute(insert, params)
