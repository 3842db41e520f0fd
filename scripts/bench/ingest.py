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
     late  the same through record_state_changes with `--late-share` of the changes a machine
           makes delivered after its next one (two ingest processes sharing a stream): those
           machines' changes of a batch go event by event and the late one splits an interval;
           against raw intervals of its own
   single  the same through record_state_change, event by event (the path before), alone

Write path and raw alternate batch by batch (the machine is shared: a burst of other load
falls on both alike) for `--rounds` rounds on fresh time ranges; each kind's figure is its
median round, and the ratio is the median of the rounds' ratios. `--profile` prints where
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
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import httpx
from sqlalchemy import Engine

from factoryos.db.engine import make_engine
from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts, record_state_change
from factoryos.production.state_batch import StateRow, record_state_changes
from scripts.drills.plant import new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir

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


def side_by_side(path: tuple[str, int, list[Batch]], raw: tuple[str, int, list[Batch]],
                 profile: bool) -> tuple[float, float]:
    """Both kinds' batches in turn, one of each at a time; returns both rates."""
    prof = cProfile.Profile() if profile else None
    spent = [0.0, 0.0]
    for a, b in zip(path[2], raw[2], strict=True):
        started = time.perf_counter()
        if prof:
            prof.enable()
        a()
        if prof:
            prof.disable()
        middle = time.perf_counter()
        b()
        spent[0] += middle - started
        spent[1] += time.perf_counter() - middle
    rates = report(path[0], path[1], spent[0]), report(raw[0], raw[1], spent[1])
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


def raw_state_batches(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]],
                      size: int) -> list[Batch]:
    ends: dict[tuple[UUID, datetime], datetime] = {}
    last: dict[UUID, datetime] = {}
    for machine, _state, _code, at in events:
        if machine in last:
            ends[(machine, last[machine])] = at
        last[machine] = at
    for machine, at in last.items():  # closed: an open interval is the write path's alone
        ends[(machine, at)] = at + timedelta(minutes=1)

    def one(batch: list[tuple[UUID, str, int, datetime]]) -> None:
        with tenant_transaction(engine, tenant) as conn:
            conn.exec_driver_sql(RAW_STATES, {"tenant": tenant, "machines": [e[0] for e in batch],
                                              "states": [e[1] for e in batch], "codes": [e[2] for e in batch],
                                              "starts": [e[3] for e in batch],
                                              "ends": [ends[(e[0], e[3])] for e in batch]})
    return [partial(one, b) for b in batches(events, size)]


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
    args = parser.parse_args()

    with scratch_dir("factoryos-ingest-") as data, embedded_database(data) as urls:
        with ServerProcess(urls.app, data) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            owner = new_company(client, "Ingest Works")
            plant = seed_plant(client, owner, machines=args.machines, label="")
        tenant = UUID(owner.tenant_id)
        machines = [UUID(m) for m in plant.machine_ids]
        engine = make_engine(urls.app, pool_size=2, application_name="factoryos-ingest-bench")
        rates: dict[str, list[float]] = defaultdict(list)
        span_minutes = args.count_events // args.machines + 1
        state_span = timedelta(seconds=sum(c[2] for c in CYCLE) * (args.state_events // args.machines // 4 + 2))
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}")
            base = EPOCH + timedelta(days=40 * r)
            profile = args.profile and r == 0
            rows = count_rows(machines, args.count_events, base)
            raw = count_rows(machines, args.count_events, base + timedelta(minutes=span_minutes))
            path_rate, raw_rate = side_by_side(
                ("counts: record_counts", len(rows), count_batches(engine, tenant, rows, args.batch)),
                ("counts: raw insert … unnest", len(raw), raw_count_batches(engine, tenant, raw, args.batch)), profile)
            rates["counts"].append(path_rate)
            rates["counts raw"].append(raw_rate)
            # Raw intervals go before everything the write path wrote: its open intervals stay last.
            events = state_events(machines, args.state_events, base + timedelta(days=10))
            raw_events = state_events(machines, args.state_events, EPOCH - state_span * (2 * r + 1))
            path_rate, raw_rate = side_by_side(
                ("states: record_state_changes", len(events), state_batches(engine, tenant, events, args.batch)),
                ("states: raw insert … unnest", len(raw_events),
                 raw_state_batches(engine, tenant, raw_events, args.batch)), profile)
            rates["states"].append(path_rate)
            rates["states raw"].append(raw_rate)
            if args.late_share:
                late = with_late(state_events(machines, args.state_events, base + timedelta(days=30)),
                                 args.late_share)
                raw_events = state_events(machines, args.state_events, EPOCH - state_span * (2 * r + 2))
                path_rate, raw_rate = side_by_side(
                    (f"states: {args.late_share:.0%} late", len(late), state_batches(engine, tenant, late, args.batch)),
                    ("states: raw insert … unnest", len(raw_events),
                     raw_state_batches(engine, tenant, raw_events, args.batch)), False)
                rates["states late"].append(path_rate)
                rates["states late raw"].append(raw_rate)
            if args.single_events:
                later = state_events(machines, args.single_events, base + timedelta(days=20))
                rates["states single"].append(timed("states: record_state_change", len(later),
                                                    single_state_batches(engine, tenant, later, args.batch)))
        engine.dispose()
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\nmedian of {args.rounds} rounds, {args.machines} machines, {args.batch} events per transaction "
          "(ratio: the median round's):")
    for kind, label in (("counts", "counts"), ("states", "states"), ("states late", f"states, {args.late_share:.0%} late")):
        if kind in rates:
            ratio = statistics.median(a / b for a, b in zip(rates[kind], rates[kind + " raw"], strict=True))
            print(f"  {label:<16} write path {med[kind]:>10,.0f} events/s   raw {med[kind + ' raw']:>10,.0f} events/s"
                  f"   ratio {ratio:.2f}")
    if "states single" in rates:
        print(f"  states event by event (record_state_change) {med['states single']:,.0f} events/s")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
