"""Machine-signal ingest: the server's own write path vs a raw `insert … select from unnest`.

One company with `--machines` machines is seeded through the API (`factoryos serve` on an
embedded PostgreSQL in a temp directory); then, in this process, through the app role
with RLS and one tenant transaction per batch of `--batch` events (what the poller's
sink does with a forwarder batch):

  counts   factoryos.production.record_counts: one delta per machine and minute (what
           the poller's MinuteBuckets emit), idempotent upsert keyed by delta
     raw   the same rows as a plain `insert … select from unnest` into the same table
  states   factoryos.production.record_state_changes per batch, as the poller's sink calls
           it (close the open intervals, open the next, open downtime for long stops);
           cycle per machine: running 4 min, idle 30 s, running 4 min, unplanned stop 5 min
     raw   the same intervals, closed, as a plain `insert … select from unnest` (the table's
           checks included: the machine key and the once-per-statement overlap check)
   same work  what the write path must do, as plain SQL in its two round trips: lock the
           batch's machines; then close the open intervals, insert the new ones and insert the
           downtime events (with their checks), the statements it sends, built beforehand from
           the same events (outside the timed window) for twin machines. What the write path
           costs beyond it is its own overhead: the history read and the replay in Python
   required rows  the rows any design keeping downtime events as rows must write, and no more:
           the raw reference's intervals and, in the same round trip, the downtime event of each
           stop reaching the site's threshold (the write path's insert, with its checks), on the
           twins in the raw reference's time range. Its ratio to raw is a ceiling for the write path
     late  the same through record_state_changes with `--late-share` of the changes a machine
           makes delivered after its next one (two ingest processes sharing a stream): those
           machines' changes of a batch go event by event and the late one splits an interval;
           against raw intervals of its own
   single  the same through record_state_change, event by event (the path before), alone

Before the rounds, every machine gets `--history` days of closed intervals and downtime events
(far in the past, through the required-rows statements) and the two tables are analyzed: a
running plant's tables have history and statistics (autovacuum analyzes them as they grow). On
fresh, never-analyzed tables PostgreSQL guesses a company's rows at 0.5 % of the table, and a
statement prepared then keeps its plan for that guess until the first analyze (`--history 0`
measures that state).

Write path and references alternate batch by batch (the machine is shared: a burst of other load
falls on both alike) for `--rounds` rounds on fresh time ranges; each kind's figure is its
median round, and a ratio is the median of the rounds' ratios. `--profile` prints where
the write path spends its time (cProfile).

Run: python -m scripts.bench.ingest [--machines 200] [--count-events 100000] [--state-events 3000]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import httpx
from sqlalchemy import Engine, create_engine, pool

from factoryos.db.driver import run_batch
from factoryos.db.engine import make_engine
from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import STOP_STATES, CountRow, record_counts, record_state_change
from factoryos.production.state_batch import (
    _CLOSE_INTERVALS,
    _INSERT_EVENTS,
    _INSERT_INTERVALS,
    _LOCK_MACHINES,
    StateRow,
    record_state_changes,
)
from scripts.drills.plant import new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
CYCLE = [("running", 1, 240), ("idle", 2, 30), ("running", 1, 240), ("unplanned_stop", 13, 300)]

# Arrays in binary (`%(name)b`, run with exec_driver_sql), as the write path sends them.
RAW_COUNTS = """
    insert into machine_count_buckets (tenant_id, machine_id, minute, good, reject, delta_keys)
    select %(tenant)b, u.machine_id, u.minute, u.good, u.reject, array[u.key]
    from unnest(cast(%(machines)b as uuid[]), cast(%(minutes)b as timestamptz[]), cast(%(goods)b as int[]),
                cast(%(rejects)b as int[]), cast(%(keys)b as text[])) as u(machine_id, minute, good, reject, key)
"""
RAW_STATES = """
    insert into machine_state_intervals (tenant_id, machine_id, state, raw_code, started_at, ended_at)
    select %(tenant)b, u.machine_id, u.state, u.raw_code, u.started_at, u.ended_at
    from unnest(cast(%(machines)b as uuid[]), cast(%(states)b as text[]), cast(%(codes)b as bigint[]),
                cast(%(starts)b as timestamptz[]), cast(%(ends)b as timestamptz[]))
         as u(machine_id, state, raw_code, started_at, ended_at)
"""


def batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def count_rows(machines: list[UUID], events: int, start: datetime) -> list[CountRow]:
    """Minute after minute, one delta per machine (as MinuteBuckets closes them)."""
    run = uuid.uuid4().hex[:8]
    rows = []
    for i in range(events):
        minute, m = divmod(i, len(machines))
        at = start + timedelta(minutes=minute)
        rows.append(CountRow(machines[m], at, 55 + i % 7, i % 3, f"{machines[m]}|{at:%Y-%m-%dT%H:%MZ}|{run}.{minute}"))
    return rows


def state_events(machines: list[UUID], events: int, start: datetime) -> list[tuple[UUID, str, int, datetime]]:
    """Time-ordered state changes of every machine through CYCLE, machines a few seconds apart."""
    out = []
    clocks = {m: start + timedelta(seconds=3 * i) for i, m in enumerate(machines)}
    step = 0
    while len(out) < events:
        state, code, seconds = CYCLE[step % len(CYCLE)]
        for m in machines:
            out.append((m, state, code, clocks[m]))
            clocks[m] += timedelta(seconds=seconds)
            if len(out) == events:
                break
        step += 1
    return out


def with_late(events: list[tuple[UUID, str, int, datetime]], share: float,
              seed: int = 7) -> list[tuple[UUID, str, int, datetime]]:
    """`events` with `share` of them swapped with their machine's next change."""
    rng = random.Random(seed)
    out = list(events)
    following: dict[UUID, int] = {}
    for i in range(len(out) - 1, -1, -1):
        machine = out[i][0]
        j = following.get(machine)
        following[machine] = i
        if j is not None and rng.random() < share:
            out[i], out[j] = out[j], out[i]
            del following[machine]  # the pair stays as it is: the change before it is not swapped in
    return out


Batch = Callable[[], None]


def report(label: str, n: int, seconds: float) -> float:
    rate = n / seconds
    print(f"  {label:<34} {n:>8} events  {rate:>10,.0f} events/s")
    return rate


def side_by_side(kinds: list[tuple[str, int, list[Batch]]], profile: bool) -> list[float]:
    """The kinds' batches in turn, one of each at a time (the first, the write path, profiled);
    returns each kind's rate."""
    prof = cProfile.Profile() if profile else None
    spent = [0.0] * len(kinds)
    for turn in zip(*(k[2] for k in kinds), strict=True):
        for n, batch in enumerate(turn):
            started = time.perf_counter()
            if prof and n == 0:
                prof.enable()
            batch()
            if prof and n == 0:
                prof.disable()
            spent[n] += time.perf_counter() - started
    rates = [report(label, n, seconds) for (label, n, _), seconds in zip(kinds, spent, strict=True)]
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return rates


def timed(label: str, n: int, made: list[Batch]) -> float:
    started = time.perf_counter()
    run_all(made)
    return report(label, n, time.perf_counter() - started)


def count_batches(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> list[Batch]:
    def one(batch: list[CountRow]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            record_counts(conn, tenant, batch)
    return [partial(one, b) for b in batches(rows, size)]


def raw_count_batches(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> list[Batch]:
    def one(batch: list[CountRow]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            conn.exec_driver_sql(RAW_COUNTS, {"tenant": tenant, "machines": [r.machine_id for r in batch],
                                              "minutes": [r.minute for r in batch], "goods": [r.good for r in batch],
                                              "rejects": [r.reject for r in batch], "keys": [r.key for r in batch]})
    return [partial(one, b) for b in batches(rows, size)]


def state_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]],
                  size: int) -> list[Batch]:
    def one(batch: list[tuple[UUID, str, int, datetime]]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            record_state_changes(conn, tenant, [StateRow(*e) for e in batch])
    return [partial(one, b) for b in batches(events, size)]


def single_state_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]],
                         size: int) -> list[Batch]:
    def one(batch: list[tuple[UUID, str, int, datetime]]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            for machine, state, code, at in batch:
                record_state_change(conn, tenant, machine, state, code, at)
    return [partial(one, b) for b in batches(events, size)]


def closed_ends(events: list[tuple[UUID, str, int, datetime]]) -> dict[tuple[UUID, datetime], datetime]:
    """Each change's end: the machine's next change, or a minute after its last (closed: an open
    interval is the write path's alone)."""
    ends: dict[tuple[UUID, datetime], datetime] = {}
    last: dict[UUID, datetime] = {}
    for machine, _state, _code, at in events:
        if machine in last:
            ends[(machine, last[machine])] = at
        last[machine] = at
    for machine, at in last.items():
        ends[(machine, at)] = at + timedelta(minutes=1)
    return ends


def raw_state_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]],
                      size: int) -> list[Batch]:
    ends = closed_ends(events)

    def one(batch: list[tuple[UUID, str, int, datetime]]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            conn.exec_driver_sql(RAW_STATES, {"tenant": tenant, "machines": [e[0] for e in batch],
                                              "states": [e[1] for e in batch], "codes": [e[2] for e in batch],
                                              "starts": [e[3] for e in batch],
                                              "ends": [ends[(e[0], e[3])] for e in batch]})
    return [partial(one, b) for b in batches(events, size)]


def required_rows_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int,
                          threshold: timedelta) -> list[Batch]:
    """The rows any design that keeps downtime events as rows must write, and nothing else: the raw
    reference's closed intervals (ids given) and, in the same round trip, a downtime event for each
    stop reaching `threshold`, with the write path's own insert (its checks included). No lock, no
    history read, no update: a ceiling for the write path, whatever it is made of."""
    ends = closed_ends(events)
    made: list[Batch] = []
    for batch in batches(events, size):
        ids = [uuid.uuid4() for _ in batch]
        stops = [(e, i) for e, i in zip(batch, ids, strict=True)
                 if e[1] in _STOP_VALUES and ends[(e[0], e[3])] - e[3] >= threshold]
        statements = [(_INSERT_INTERVALS, {
            "tenant": tenant, "ids": ids, "machines": [e[0] for e in batch], "states": [e[1] for e in batch],
            "codes": [e[2] for e in batch], "starts": [e[3] for e in batch],
            "ends": [ends[(e[0], e[3])] for e in batch]})]
        if stops:
            statements.append((_INSERT_EVENTS, {
                "tenant": tenant, "machines": [e[0] for e, _ in stops], "starts": [e[3] for e, _ in stops],
                "ends": [ends[(e[0], e[3])] for e, _ in stops], "intervals": [i for _, i in stops],
                "updated": [None] * len(stops)}))
        made.append(partial(_required_rows, engine, tenant, statements))
    return made


def _required_rows(engine: Engine, tenant: UUID, statements: list[tuple[str, dict]]) -> None:
    with tenant_transaction(engine, tenant) as conn:
        run_batch(conn, statements)


@dataclass
class _Open:
    id: UUID
    state: str
    started_at: datetime
    stored: bool  # written by an earlier batch


_STOP_VALUES = {s.value for s in STOP_STATES}


def same_work_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int,
                      threshold: timedelta, open_now: dict[UUID, _Open]) -> list[Batch]:
    """Each batch's statements as `record_state_changes` sends them, worked out here: lock the
    machines; then, in a second round trip, close the stored open interval of each machine, insert
    the new intervals (those a later change of the batch ends inserted closed), insert a downtime
    event for each stop reaching `threshold` as it ends. `open_now` carries each machine's open interval from batch to batch (and round
    to round). Knows the bench's cycle only: no stop follows a stop, no state repeats."""
    made: list[Batch] = []
    for batch in batches(events, size):
        closes: list[tuple[UUID, UUID, datetime]] = []
        fresh: dict[UUID, list] = {}  # id → [machine, state, code, start, end]
        downtime: list[tuple[UUID, datetime, datetime, UUID]] = []
        by_machine: dict[UUID, list[tuple[UUID, str, int, datetime]]] = defaultdict(list)
        for e in batch:  # rows grouped by machine, in the order of each one's first change, as it sends them
            by_machine[e[0]].append(e)
        for machine, state, code, at in (e for changes in by_machine.values() for e in changes):
            latest = open_now.get(machine)
            if latest is not None:
                if latest.state == state or (latest.state in _STOP_VALUES and state in _STOP_VALUES):
                    raise ValueError("the same-work reference knows the bench's cycle only")
                if latest.stored:
                    closes.append((machine, latest.id, at))
                else:
                    fresh[latest.id][4] = at
                if latest.state in _STOP_VALUES and at - latest.started_at >= threshold:
                    downtime.append((machine, latest.started_at, at, latest.id))
            interval = uuid.uuid4()
            fresh[interval] = [machine, state, code, at, None]
            open_now[machine] = _Open(interval, state, at, stored=False)
        for o in open_now.values():
            o.stored = True
        statements = []
        if closes:
            statements.append((_CLOSE_INTERVALS, {"tenant": tenant, "machines": [c[0] for c in closes],
                                                  "ids": [c[1] for c in closes], "ends": [c[2] for c in closes]}))
        rows = list(fresh.values())
        statements.append((_INSERT_INTERVALS, {
            "tenant": tenant, "ids": list(fresh), "machines": [r[0] for r in rows], "states": [r[1] for r in rows],
            "codes": [r[2] for r in rows], "starts": [r[3] for r in rows], "ends": [r[4] for r in rows]}))
        if downtime:
            statements.append((_INSERT_EVENTS, {
                "tenant": tenant, "machines": [d[0] for d in downtime], "starts": [d[1] for d in downtime],
                "ends": [d[2] for d in downtime], "intervals": [d[3] for d in downtime],
                "updated": [None] * len(downtime)}))
        lock = (_LOCK_MACHINES, {"tenant": tenant, "ids": sorted({e[0] for e in batch})})
        made.append(partial(_same_work, engine, tenant, lock, statements))
    return made


def _same_work(engine: Engine, tenant: UUID, lock: tuple[str, dict], statements: list[tuple[str, dict]]) -> None:
    with tenant_transaction(engine, tenant) as conn:
        run_batch(conn, [lock])
        run_batch(conn, statements)


_ROWS = """
    select (select count(*) from machine_state_intervals
            where machine_id = any(%(machines)s) and started_at >= %(lo)s and started_at < %(hi)s) as intervals,
           (select count(*) from downtime_events
            where machine_id = any(%(machines)s) and started_at >= %(lo)s and started_at < %(hi)s) as events
"""


def stored_rows(engine: Engine, tenant: UUID, machines: list[UUID], lo: datetime, hi: datetime) -> tuple[int, int]:
    """Intervals and downtime events of `machines` starting in [lo, hi)."""
    with tenant_transaction(engine, tenant) as conn:
        row = conn.exec_driver_sql(_ROWS, {"machines": machines, "lo": lo, "hi": hi}).one()
        return row.intervals, row.events


def site_threshold(engine: Engine, tenant: UUID) -> timedelta:
    with tenant_transaction(engine, tenant) as conn:
        return timedelta(seconds=conn.exec_driver_sql("select micro_stop_seconds from sites limit 1").scalar_one())


def settle(engine: Engine, superuser: str, tenant: UUID, machines: list[UUID], days: int, size: int,
           threshold: timedelta) -> None:
    """`days` of every machine's history, ending a year before the bench's epoch, then the tables
    analyzed, as in a plant that has been running."""
    per_day = 24 * 3600 // sum(c[2] for c in CYCLE) * len(CYCLE)
    history = state_events(machines, per_day * days * len(machines), EPOCH - timedelta(days=365 + days))
    run_all(required_rows_batches(engine, tenant, history, size, threshold))
    admin = create_engine(superuser, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("analyze machine_state_intervals, downtime_events")
    finally:
        admin.dispose()
    print(f"history: {len(history):,} state changes over {days} days on {len(machines)} machines, analyzed")


def run_all(made: list[Batch]) -> None:
    for batch in made:
        batch()


def run_counts(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> None:
    run_all(count_batches(engine, tenant, rows, size))


def run_raw_counts(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> None:
    run_all(raw_count_batches(engine, tenant, rows, size))


def run_states(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int) -> None:
    run_all(state_batches(engine, tenant, events, size))


def run_raw_states(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int) -> None:
    run_all(raw_state_batches(engine, tenant, events, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--count-events", type=int, default=100_000, help="count deltas per round and path")
    parser.add_argument("--state-events", type=int, default=100_000, help="state changes per round and path")
    parser.add_argument("--single-events", type=int, default=2_000,
                        help="state changes per round through the event-by-event path (0: skip it)")
    parser.add_argument("--late-share", type=float, default=0.01,
                        help="share of state changes delivered after their machine's next one (0: skip)")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction (the forwarder's batch)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the write path's first round")
    parser.add_argument("--history", type=int, default=2,
                        help="days of settled history per machine before the rounds, analyzed (0: fresh tables)")
    args = parser.parse_args()

    with scratch_dir("factoryos-ingest-") as data, embedded_database(data) as urls:
        with ServerProcess(urls.app, data) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            owner = new_company(client, "Ingest Works")
            # Twice as many: every other one is the same-work reference's twin of the one before it
            # (alternate machines: with halves, the same statements cost up to a fifth more on one
            # half than on the other; on alternate machines they cost the same).
            plant = seed_plant(client, owner, machines=2 * args.machines, label="")
        tenant = UUID(owner.tenant_id)
        machines = [UUID(m) for m in plant.machine_ids[0::2]]
        twin = dict(zip(machines, (UUID(m) for m in plant.machine_ids[1::2]), strict=True))
        engine = make_engine(urls.app, pool_size=2, application_name="factoryos-ingest-bench")
        threshold = site_threshold(engine, tenant)
        if args.history:
            settle(engine, superuser_url(urls), tenant, [UUID(m) for m in plant.machine_ids], args.history,
                   args.batch, threshold)
        twins_open: dict[UUID, _Open] = {}
        rates: dict[str, list[float]] = defaultdict(list)
        span_minutes = args.count_events // args.machines + 1
        state_span = timedelta(seconds=sum(c[2] for c in CYCLE) * (args.state_events // args.machines // 4 + 2))
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}")
            base = EPOCH + timedelta(days=40 * r)
            profile = args.profile and r == 0
            rows = count_rows(machines, args.count_events, base)
            raw = count_rows(machines, args.count_events, base + timedelta(minutes=span_minutes))
            path_rate, raw_rate = side_by_side([
                ("counts: record_counts", len(rows), count_batches(engine, tenant, rows, args.batch)),
                ("counts: raw insert … unnest", len(raw), raw_count_batches(engine, tenant, raw, args.batch))], profile)
            rates["counts"].append(path_rate)
            rates["counts raw"].append(raw_rate)
            # Raw intervals go before everything the write path wrote: its open intervals stay last.
            start = base + timedelta(days=10)
            events = state_events(machines, args.state_events, start)
            raw_events = state_events(machines, args.state_events, EPOCH - state_span * (2 * r + 1))
            twin_events = [(twin[m], state, code, at) for m, state, code, at in events]
            # The required rows go on the twins, in the raw reference's time range (before everything else).
            twin_raw = [(twin[m], state, code, at) for m, state, code, at in raw_events]
            path_rate, raw_rate, same_rate, rows_rate = side_by_side([
                ("states: record_state_changes", len(events), state_batches(engine, tenant, events, args.batch)),
                ("states: raw insert … unnest", len(raw_events),
                 raw_state_batches(engine, tenant, raw_events, args.batch)),
                ("states: same work raw", len(twin_events),
                 same_work_batches(engine, tenant, twin_events, args.batch, threshold, twins_open)),
                ("states: required rows raw", len(twin_raw),
                 required_rows_batches(engine, tenant, twin_raw, args.batch, threshold))], profile)
            rates["states"].append(path_rate)
            rates["states raw"].append(raw_rate)
            rates["states same"].append(same_rate)
            rates["states rows"].append(rows_rate)
            stored = [stored_rows(engine, tenant, ms, start, start + timedelta(days=10))
                      for ms in (machines, list(twin.values()))]
            if stored[0] != stored[1]:
                print(f"  ! same work stored {stored[1]} (intervals, downtime events), the write path {stored[0]}")
            if args.late_share:
                late = with_late(state_events(machines, args.state_events, base + timedelta(days=30)),
                                 args.late_share)
                raw_events = state_events(machines, args.state_events, EPOCH - state_span * (2 * r + 2))
                path_rate, raw_rate = side_by_side([
                    (f"states: {args.late_share:.0%} late", len(late), state_batches(engine, tenant, late, args.batch)),
                    ("states: raw insert … unnest", len(raw_events),
                     raw_state_batches(engine, tenant, raw_events, args.batch))], False)
                rates["states late"].append(path_rate)
                rates["states late raw"].append(raw_rate)
            if args.single_events:
                later = state_events(machines, args.single_events, base + timedelta(days=20))
                rates["states single"].append(timed("states: record_state_change", len(later),
                                                    single_state_batches(engine, tenant, later, args.batch)))
        engine.dispose()
    med = {k: statistics.median(v) for k, v in rates.items()}

    def ratio(kind: str, reference: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[kind], rates[reference], strict=True))

    print(f"\nmedian of {args.rounds} rounds, {args.machines} machines, {args.batch} events per transaction "
          "(ratio: the median round's):")
    for kind, label in (("counts", "counts"), ("states", "states"), ("states late", f"states, {args.late_share:.0%} late")):
        if kind in rates:
            print(f"  {label:<16} write path {med[kind]:>10,.0f} events/s   raw {med[kind + ' raw']:>10,.0f} events/s"
                  f"   ratio {ratio(kind, kind + ' raw'):.2f}")
    print(f"  {'states':<16} same work raw {med['states same']:>7,.0f} events/s   write path / same work "
          f"{ratio('states', 'states same'):.2f}   same work / raw {ratio('states same', 'states raw'):.2f}")
    print(f"  {'states':<16} required rows raw {med['states rows']:>7,.0f} events/s   required rows / raw "
          f"{ratio('states rows', 'states raw'):.2f}   write path / required rows {ratio('states', 'states rows'):.2f}")
    per_round = "  ".join(f"{a:,.0f} / {b:,.0f} / {c:,.0f}" for a, b, c in
                          zip(rates["states"], rates["states raw"], rates["states same"], strict=True))
    print(f"  states per round (write path / raw / same work raw, events/s): {per_round}")
    if "states single" in rates:
        print(f"  states event by event (record_state_change) {med['states single']:,.0f} events/s")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
