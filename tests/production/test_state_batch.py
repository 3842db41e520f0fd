"""`record_state_changes` (set-wise) leaves exactly what `record_state_change` (event by event)
leaves: the same random streams of state changes, replays, stale and unchanged ones, in
random batches and with downtime sweeps between them, through both into two companies,
then the intervals, downtime events and outcomes compared."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ValidationFailed
from factoryos.production.signals import flag_overdue_stops, record_state_change
from factoryos.production.state_batch import StateRow, record_state_changes
from factoryos.production import signals, state_batch
from tests.accounts import new_company
from tests.production import plant

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STATES = ["running", "running", "idle", "unplanned_stop", "unplanned_stop", "offline", "planned_stop", "setup"]
CODES = [1, 2, 13, None]
STEPS = [0, 1, 5, 30, 70, 119, 120, 130, 600]
MACHINES = 3


def _company(api, threshold: int):
    owner = new_company(api)
    site = plant.site(api, owner, timezone="UTC", micro_stop_seconds=threshold)
    return uuid.UUID(owner.tenant_id), [uuid.UUID(plant.machine(api, owner, site["id"])["id"]) for _ in range(MACHINES)]


def _stream(rng: random.Random, n: int) -> list[tuple[int, str, int | None, datetime]]:
    clocks = [T0] * MACHINES
    last: list[tuple[str, int | None] | None] = [None] * MACHINES
    out: list[tuple[int, str, int | None, datetime]] = []
    for _ in range(n):
        k = rng.randrange(MACHINES)
        roll = rng.random()
        if roll < 0.08 and out:
            out.append(rng.choice(out))  # a replay of an earlier change
            continue
        if roll < 0.16:  # older than the machine's clock: fitted in late, or a duplicate when it hits a change
            out.append((k, rng.choice(STATES), rng.choice(CODES), clocks[k] - timedelta(seconds=rng.choice(STEPS))))
            continue
        clocks[k] += timedelta(seconds=rng.choice(STEPS))
        if roll < 0.26 and last[k] is not None:
            state, code = last[k]  # the same again: unchanged
        else:
            state, code = rng.choice(STATES), rng.choice(CODES)
        last[k] = (state, code)
        out.append((k, state, code, clocks[k]))
    return out


def _manual_downtime(conn, tenant, machine, rng: random.Random) -> None:
    """An operator's downtime now and then: stops it covers get no machine event."""
    for i in range(3):
        start = T0 + timedelta(minutes=rng.randrange(0, 120), seconds=i)
        conn.execute(text("insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, "
                          "needs_reason) values (:t, :m, :s, :e, true, 'manual', false) on conflict do nothing"),
                     {"t": tenant, "m": machine, "s": start, "e": start + timedelta(minutes=rng.choice([1, 5, 20]))})


def _manual_downtime_both(app_engine, a, b, seed: int) -> None:
    for (tenant, machines) in (a, b):
        rng = random.Random(seed * 7)
        for m in machines:
            try:
                with tenant_transaction(app_engine, tenant) as conn:
                    _manual_downtime(conn, tenant, m, rng)
            except Exception:  # two random windows of one machine overlap: both sides skip alike
                pass


def _state(app_engine, tenant, machines):
    with tenant_transaction(app_engine, tenant) as conn:
        intervals = [
            [tuple(r) for r in conn.execute(text(
                "select state, raw_code, started_at, ended_at from machine_state_intervals "
                "where tenant_id = :t and machine_id = :m order by started_at"), {"t": tenant, "m": m})]
            for m in machines
        ]
        events = [
            [tuple(r) for r in conn.execute(text(
                "select d.started_at, d.ended_at, d.planned, d.source, d.needs_reason, d.reason_id, i.started_at "
                "from downtime_events d left join machine_state_intervals i "
                "  on i.tenant_id = d.tenant_id and i.id = d.state_interval_id "
                "where d.tenant_id = :t and d.machine_id = :m order by d.started_at"), {"t": tenant, "m": m})]
            for m in machines
        ]
    return intervals, events


def _long_stops(rng: random.Random) -> list[tuple[int, str, int | None, datetime]]:
    """Each machine: a stop of 30 short intervals (two fault codes taking turns), then running:
    only a run walked back far enough reaches the threshold."""
    out = []
    for k in range(MACHINES):
        at = T0 + timedelta(hours=5, minutes=k)
        out.append((k, "running", 1, at))
        for j in range(30):
            out.append((k, "unplanned_stop", 13 if j % 2 else 14, at + timedelta(seconds=5 + 5 * j)))
        out.append((k, "running", 1, at + timedelta(seconds=5 + 5 * 30)))
    rng.shuffle(out)  # machines interleaved; each machine's own order kept below
    return sorted(out, key=lambda e: (e[3], e[0]))


@pytest.mark.parametrize("lookback", [500, 3])
@pytest.mark.parametrize(("seed", "threshold"), [(1, 120), (2, 120), (3, 0), (4, 60), (5, 120)])
def test_batches_leave_what_single_changes_leave(api, app_engine, monkeypatch, seed, threshold, lookback) -> None:
    monkeypatch.setattr(signals, "_RUN_LOOKBACK", lookback)
    monkeypatch.setattr(state_batch, "_RUN_LOOKBACK", lookback)
    rng = random.Random(seed)
    single, batched = _company(api, threshold), _company(api, threshold)
    _manual_downtime_both(app_engine, single, batched, seed)
    stream = _stream(rng, 160) + (_long_stops(rng) if seed % 2 else [])
    outcomes_single, outcomes_batched = [], []
    i = 0
    while i < len(stream):
        batch = stream[i:i + rng.randint(1, 40)]
        i += len(batch)
        tenant, machines = single
        with tenant_transaction(app_engine, tenant) as conn:
            outcomes_single += [record_state_change(conn, tenant, machines[k], s, c, at) for k, s, c, at in batch]
        tenant, machines = batched
        with tenant_transaction(app_engine, tenant) as conn:
            outcomes_batched += record_state_changes(conn, tenant, [StateRow(machines[k], s, c, at)
                                                                    for k, s, c, at in batch])
        if rng.random() < 0.3:  # the poller's sweep for stops still going on, alike on both sides
            now = max(at for *_, at in batch) + timedelta(seconds=rng.choice(STEPS))
            for tenant, _ in (single, batched):
                with tenant_transaction(app_engine, tenant) as conn:
                    flag_overdue_stops(conn, tenant, now)

    assert outcomes_batched == outcomes_single
    intervals, events = _state(app_engine, *single)
    assert _state(app_engine, *batched) == (intervals, events)
    assert sum(map(len, intervals)) > 20 and any(e[4] for m in events for e in m)  # the stream did something


def test_a_batch_with_every_interval_left_open_and_no_codes(api, app_engine) -> None:
    tenant, machines = _company(api, 120)
    with tenant_transaction(app_engine, tenant) as conn:
        done = record_state_changes(conn, tenant, [StateRow(m, "offline", None, T0) for m in machines])
    assert [o.value for o in done] == ["opened"] * MACHINES
    intervals, _ = _state(app_engine, tenant, machines)
    assert intervals == [[("offline", None, T0, None)]] * MACHINES


def test_a_bad_event_fails_the_batch_before_anything_is_written(api, app_engine) -> None:
    tenant, machines = _company(api, 120)
    _, foreign = _company(api, 120)
    for bad, field in ((StateRow(machines[1], "exploded", 1, T0), "state"),
                       (StateRow(foreign[0], "running", 1, T0), "machine_id"),
                       (StateRow(machines[1], "running", 1, T0.replace(tzinfo=None)), "at")):
        with pytest.raises(ValidationFailed) as err, tenant_transaction(app_engine, tenant) as conn:
            record_state_changes(conn, tenant, [StateRow(machines[0], "running", 1, T0), bad])
        assert err.value.field == field
    assert _state(app_engine, tenant, machines) == ([[]] * MACHINES, [[]] * MACHINES)


def test_closing_skips_the_overlap_check_and_growing_still_meets_it(api, app_engine) -> None:
    """0029: an interval that only shrinks is not checked (it cannot come to overlap); one that
    grows or moves still is."""
    tenant, machines = _company(api, 120)
    m = machines[0]
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_changes(conn, tenant, [StateRow(m, "running", 1, T0),
                                            StateRow(m, "idle", 2, T0 + timedelta(minutes=10)),
                                            StateRow(m, "running", 1, T0 + timedelta(minutes=20))])
    grow = ("update machine_state_intervals set ended_at = ended_at + interval '1 minute' "
            "where machine_id = :m and started_at = :t")
    earlier = ("update machine_state_intervals set started_at = started_at - interval '1 minute' "
               "where machine_id = :m and started_at = :t")
    for statement, at in ((grow, T0), (earlier, T0 + timedelta(minutes=10))):
        with pytest.raises(IntegrityError, match="overlaps"), tenant_transaction(app_engine, tenant) as conn:
            conn.execute(text(statement), {"m": m, "t": at})
    with tenant_transaction(app_engine, tenant) as conn:  # the open interval closed, then shortened
        conn.execute(text("update machine_state_intervals set ended_at = :e where machine_id = :m and ended_at is null"),
                     {"m": m, "e": T0 + timedelta(minutes=30)})
        conn.execute(text("update machine_state_intervals set ended_at = :e where machine_id = :m and started_at = :t"),
                     {"m": m, "e": T0 + timedelta(minutes=25), "t": T0 + timedelta(minutes=20)})
    intervals, _ = _state(app_engine, tenant, machines)
    assert [(s, start, end) for s, _, start, end in intervals[0]] == [
        ("running", T0, T0 + timedelta(minutes=10)), ("idle", T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)),
        ("running", T0 + timedelta(minutes=20), T0 + timedelta(minutes=25))]
