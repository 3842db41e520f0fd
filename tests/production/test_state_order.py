"""State changes arriving out of order (two ingest processes share a broker stream) leave the
intervals and downtime that the same changes leave in order: random realistic timelines in
many random permutations, with replays, through the per-event and the batch writers."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import StateOutcome, record_state_change
from factoryos.production.state_batch import StateRow, record_state_changes
from tests.accounts import new_company
from tests.production import plant

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
# (state, raw code) as a PLC reports them: running most of the time, stops with fault codes.
STATES = [("running", 1), ("running", 1), ("running", 1), ("idle", 2), ("unplanned_stop", 13),
          ("unplanned_stop", 14), ("planned_stop", 3), ("setup", 5), ("no_data", None), ("offline", None)]
STEPS = [1, 5, 30, 70, 100, 119, 120, 130, 600]

Change = tuple[str, int | None, datetime]


def _timeline(rng: random.Random, n: int) -> list[Change]:
    """A machine's changes in true order; a quarter report the state it is already in."""
    out: list[Change] = []
    at = T0
    for _ in range(n):
        at += timedelta(seconds=rng.choice(STEPS))
        state, code = out[-1][:2] if out and rng.random() < 0.25 else rng.choice(STATES)
        out.append((state, code, at))
    return out


def _expected_intervals(changes: list[Change]) -> list[tuple]:
    """What the changes mean, worked out here without the database: a stretch of one state and code."""
    out: list[list] = []
    for state, code, at in sorted(set(changes), key=lambda c: c[2]):
        if out and (out[-1][0], out[-1][1]) == (state, code):
            continue
        if out:
            out[-1][3] = at
        out.append([state, code, at, None])
    return [tuple(i) for i in out]


class Plant:
    def __init__(self, api, threshold: int) -> None:
        self.api, self.owner = api, new_company(api)
        self.tenant = uuid.UUID(self.owner.tenant_id)
        self.site = plant.site(api, self.owner, timezone="UTC", micro_stop_seconds=threshold)

    def machine(self) -> uuid.UUID:
        return uuid.UUID(plant.machine(self.api, self.owner, self.site["id"])["id"])

    def one_by_one(self, engine, machine: uuid.UUID, changes: list[Change]) -> list[StateOutcome]:
        out = []
        for state, code, at in changes:
            with tenant_transaction(engine, self.tenant) as conn:
                out.append(record_state_change(conn, self.tenant, machine, state, code, at))
        return out

    def batched(self, engine, machine: uuid.UUID, changes: list[Change], rng: random.Random) -> list[StateOutcome]:
        out: list[StateOutcome] = []
        i = 0
        while i < len(changes):
            batch = changes[i:i + rng.randint(1, 8)]
            i += len(batch)
            with tenant_transaction(engine, self.tenant) as conn:
                out += record_state_changes(conn, self.tenant, [StateRow(machine, s, c, at) for s, c, at in batch])
        return out

    def stored(self, engine, machine: uuid.UUID) -> tuple[list[tuple], list[tuple]]:
        with tenant_transaction(engine, self.tenant) as conn:
            intervals = [tuple(r) for r in conn.execute(text(
                "select state, raw_code, started_at, ended_at, "
                "  array(select s from unnest(seen_at) s order by s) "
                "from machine_state_intervals where tenant_id = :t and machine_id = :m order by started_at"),
                {"t": self.tenant, "m": machine})]
            events = [tuple(r) for r in conn.execute(text(
                "select d.started_at, d.ended_at, d.source, d.needs_reason, i.started_at, i.ended_at "
                "from downtime_events d left join machine_state_intervals i "
                "  on i.tenant_id = d.tenant_id and i.id = d.state_interval_id "
                "where d.tenant_id = :t and d.machine_id = :m order by d.started_at"),
                {"t": self.tenant, "m": machine})]
        return intervals, events


def _brief(value):
    """Instants as seconds after T0: a failure reads as a timeline."""
    if isinstance(value, datetime):
        return int((value - T0).total_seconds())
    if isinstance(value, list | tuple):
        return type(value)(_brief(v) for v in value)
    return value


def _shuffled(rng: random.Random, changes: list[Change]) -> list[Change]:
    """A random arrival order: mostly a little late (two processes), sometimes far off, with replays."""
    keyed = [(i + rng.choice([0, 0, 1, 2, 3, 15]) * rng.random(), c) for i, c in enumerate(changes)]
    out = [c for _, c in sorted(keyed, key=lambda k: k[0])]
    if rng.random() < 0.3:
        rng.shuffle(out)
    for _ in range(rng.randint(0, 4)):
        out.insert(rng.randrange(len(out) + 1), rng.choice(changes))
    return out


@pytest.mark.parametrize(("seed", "threshold"), [(2, 60), (3, 0), (4, 120), (5, 120)])
def test_any_arrival_order_leaves_the_in_order_intervals_and_downtime(api, app_engine, seed, threshold) -> None:
    rng = random.Random(seed)
    where = Plant(api, threshold)
    truth = _timeline(rng, 30)
    reference = where.machine()
    assert StateOutcome.OPENED in where.one_by_one(app_engine, reference, truth)
    intervals, events = where.stored(app_engine, reference)
    assert [i[:4] for i in intervals] == _expected_intervals(truth)
    assert events  # stops were flagged: the permutations below must keep them right
    late_seen = 0
    for _ in range(4):
        order = _shuffled(rng, truth)
        late_seen += sum(1 for a, b in zip(order, order[1:], strict=False) if b[2] < a[2])
        one, many = where.machine(), where.machine()
        outcomes = where.one_by_one(app_engine, one, order)
        assert where.batched(app_engine, many, order, rng) == outcomes
        assert _brief(where.stored(app_engine, one)) == _brief((intervals, events)), _brief(order)
        assert _brief(where.stored(app_engine, many)) == _brief((intervals, events)), _brief(order)
        assert outcomes.count(StateOutcome.DUPLICATE) == len(order) - len(set(truth))
        assert StateOutcome.STALE not in outcomes
    assert late_seen > 4  # the permutations did deliver late changes


def test_a_reassertion_stored_before_a_late_stop_keeps_the_stop_short(api, app_engine) -> None:
    """True order RUN t1, STOP t2, RUN t3; arrival t1, t3, t2: a stop from t2 to t3, running after."""
    where = Plant(api, 120)
    m = where.machine()
    t1, t2, t3 = T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=400)
    assert where.one_by_one(app_engine, m, [("running", 1, t1), ("running", 1, t3), ("unplanned_stop", 13, t2)]) \
        == [StateOutcome.OPENED, StateOutcome.UNCHANGED, StateOutcome.OPENED]
    intervals, events = where.stored(app_engine, m)
    assert intervals == [("running", 1, t1, t2, []), ("unplanned_stop", 13, t2, t3, []), ("running", 1, t3, None, [])]
    assert events == [(t2, t3, "machine", True, t2, t3)]  # 340 s: over the threshold
    assert where.one_by_one(app_engine, m, [("unplanned_stop", 13, t2), ("running", 1, t3)]) \
        == [StateOutcome.DUPLICATE, StateOutcome.DUPLICATE]
    assert where.stored(app_engine, m) == (intervals, events)


def test_a_late_run_inside_a_flagged_stop_withdraws_its_event(api, app_engine) -> None:
    """STOP 0 s, RUN 100 s, STOP 200 s, RUN 300 s arriving with the first RUN last: a 300 s stop
    (flagged) becomes two 100 s micro-stops, neither asked about."""
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 100, 200, 300)]
    where.one_by_one(app_engine, m, [("unplanned_stop", 13, s[0]), ("unplanned_stop", 13, s[2]), ("running", 1, s[3])])
    assert where.stored(app_engine, m)[1] == [(s[0], s[3], "machine", True, s[0], s[3])]
    assert where.one_by_one(app_engine, m, [("running", 1, s[1])]) == [StateOutcome.OPENED]
    intervals, events = where.stored(app_engine, m)
    assert [i[:4] for i in intervals] == [("unplanned_stop", 13, s[0], s[1]), ("running", 1, s[1], s[2]),
                                          ("unplanned_stop", 13, s[2], s[3]), ("running", 1, s[3], None)]
    assert events == []


def test_a_late_fault_code_splits_a_stop_and_both_parts_keep_their_events(api, app_engine) -> None:
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 10, 160, 310)]
    where.one_by_one(app_engine, m, [("running", 1, s[0]), ("unplanned_stop", 13, s[1]), ("running", 1, s[3])])
    with tenant_transaction(app_engine, where.tenant) as conn:
        assert record_state_changes(conn, where.tenant, [StateRow(m, "unplanned_stop", 14, s[2])]) \
            == [StateOutcome.OPENED]
    assert where.stored(app_engine, m)[1] == [(s[1], s[2], "machine", True, s[1], s[2]),
                                              (s[2], s[3], "machine", True, s[2], s[3])]


def test_a_late_stop_before_a_micro_stop_makes_one_long_stop(api, app_engine) -> None:
    """RUN, then a 90 s stop: a micro-stop; a late idle 50 s before it joins it into a 140 s stop."""
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 50, 100, 190)]
    where.one_by_one(app_engine, m, [("running", 1, s[0]), ("unplanned_stop", 13, s[2]), ("running", 1, s[3])])
    assert where.stored(app_engine, m)[1] == []
    with tenant_transaction(app_engine, where.tenant) as conn:
        assert record_state_changes(conn, where.tenant, [StateRow(m, "idle", 2, s[1])]) == [StateOutcome.OPENED]
    assert where.stored(app_engine, m)[1] == [(s[1], s[2], "machine", True, s[1], s[2]),
                                              (s[2], s[3], "machine", True, s[2], s[3])]


def test_a_late_change_before_the_first_interval(api, app_engine) -> None:
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 30, 60)]
    where.one_by_one(app_engine, m, [("running", 1, s[2]), ("running", 1, s[1]), ("idle", 2, s[0])])
    intervals, _ = where.stored(app_engine, m)
    assert intervals == [("idle", 2, s[0], s[1], []), ("running", 1, s[1], None, [s[2]])]


def test_recorded_downtime_still_explains_a_stop_a_late_change_reveals(api, app_engine) -> None:
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 100, 400, 600)]
    where.one_by_one(app_engine, m, [("running", 1, s[0]), ("running", 1, s[2]), ("idle", 2, s[3])])
    with tenant_transaction(app_engine, where.tenant) as conn:
        conn.execute(text("insert into downtime_events (tenant_id, machine_id, started_at, ended_at, planned, source, "
                          "needs_reason) values (:t, :m, :s, :e, true, 'manual', false)"),
                     {"t": where.tenant, "m": m, "s": s[1], "e": s[2]})
    where.one_by_one(app_engine, m, [("unplanned_stop", 13, s[1])])
    intervals, events = where.stored(app_engine, m)
    assert [i[:4] for i in intervals][1] == ("unplanned_stop", 13, s[1], s[2])
    assert events == [(s[1], s[2], "manual", False, None, None)]


def test_two_writers_of_one_machine_take_turns(api, app_engine) -> None:
    """Two ingest processes storing changes of one machine at once: the second waits for the
    first's transaction, then fits its late change into what the first stored."""
    where = Plant(api, 120)
    m = where.machine()
    s = [T0 + timedelta(seconds=x) for x in (0, 100, 200)]
    where.one_by_one(app_engine, m, [("running", 1, s[0])])
    second_done = threading.Event()

    def second() -> None:
        with tenant_transaction(app_engine, where.tenant) as conn:
            record_state_changes(conn, where.tenant, [StateRow(m, "idle", 2, s[1])])
        second_done.set()

    with tenant_transaction(app_engine, where.tenant) as conn:
        record_state_changes(conn, where.tenant, [StateRow(m, "running", 1, s[2])])
        writer = threading.Thread(target=second)
        writer.start()
        assert not second_done.wait(0.5)  # held at the machine's lock
    writer.join(10)
    assert second_done.is_set()
    intervals, _ = where.stored(app_engine, m)
    assert intervals == [("running", 1, s[0], s[1], []), ("idle", 2, s[1], s[2], []), ("running", 1, s[2], None, [])]
