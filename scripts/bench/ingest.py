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
   single  the same through record_state_change, event by event (the path before)
     late  the same through record_state_changes with `--late-share` of the changes a machine
           makes delivered after its next one (two ingest processes sharing a stream): those
           machines' changes of a batch go event by event and the late one splits an interval
     raw   the same intervals, closed, as a plain `insert … select from unnest`

Write path and raw alternate for `--rounds` rounds on fresh time ranges (the machine is
shared: alternating spreads other load over both); the figure per kind is the median
round. `--profile` prints where the write path spends its time (cProfile).

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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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


def timed(label: str, n: int, fn: Callable[[], None], profile: bool) -> float:
    prof = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if prof:
        prof.enable()
    fn()
    if prof:
        prof.disable()
    rate = n / (time.perf_counter() - started)
    print(f"  {label:<34} {n:>8} events  {rate:>10,.0f} events/s")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return rate


def run_counts(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> None:
    for batch in batches(rows, size):
        with tenant_transaction(engine, tenant) as conn:
            record_counts(conn, tenant, batch)


def run_raw_counts(engine: Engine, tenant: UUID, rows: list[CountRow], size: int) -> None:
    for batch in batches(rows, size):
        with tenant_transaction(engine, tenant) as conn:
            conn.exec_driver_sql(RAW_COUNTS, {"tenant": tenant, "machines": [r.machine_id for r in batch],
                                      "minutes": [r.minute for r in batch], "goods": [r.good for r in batch],
                                      "rejects": [r.reject for r in batch], "keys": [r.key for r in batch]})


def run_states(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int) -> None:
    for batch in batches(events, size):
        with tenant_transaction(engine, tenant) as conn:
            record_state_changes(conn, tenant, [StateRow(*e) for e in batch])


def run_single_states(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]],
                      size: int) -> None:
    for batch in batches(events, size):
        with tenant_transaction(engine, tenant) as conn:
            for machine, state, code, at in batch:
                record_state_change(conn, tenant, machine, state, code, at)


def run_raw_states(engine: Engine, tenant: UUID, events: list[tuple[UUID, str, int, datetime]], size: int) -> None:
    ends: dict[tuple[UUID, datetime], datetime] = {}
    last: dict[UUID, datetime] = {}
    for machine, _state, _code, at in events:
        if machine in last:
            ends[(machine, last[machine])] = at
        last[machine] = at
    for machine, at in last.items():  # closed: an open interval is the write path's alone
        ends[(machine, at)] = at + timedelta(minutes=1)
    for batch in batches(events, size):
        with tenant_transaction(engine, tenant) as conn:
            conn.exec_driver_sql(RAW_STATES, {"tenant": tenant, "machines": [e[0] for e in batch],
                                      "states": [e[1] for e in batch], "codes": [e[2] for e in batch],
                                      "starts": [e[3] for e in batch],
                                      "ends": [ends.get((e[0], e[3])) for e in batch]})


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
        rates: dict[str, list[float]] = {"counts": [], "counts raw": [], "states": [], "states raw": [],
                                         "states single": [], "states late": []}
        span_minutes = args.count_events // args.machines + 1
        state_span = timedelta(seconds=sum(c[2] for c in CYCLE) * (args.state_events // args.machines // 4 + 2))
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}")
            base = EPOCH + timedelta(days=40 * r)
            profile = args.profile and r == 0
            rows = count_rows(machines, args.count_events, base)
            rates["counts"].append(timed("counts: record_counts", len(rows),
                                         lambda: run_counts(engine, tenant, rows, args.batch), profile))
            raw = count_rows(machines, args.count_events, base + timedelta(minutes=span_minutes))
            rates["counts raw"].append(timed("counts: raw insert … unnest", len(raw),
                                             lambda: run_raw_counts(engine, tenant, raw, args.batch), False))
            events = state_events(machines, args.state_events, base + timedelta(days=10))
            rates["states"].append(timed("states: record_state_changes", len(events),
                                         lambda: run_states(engine, tenant, events, args.batch), profile))
            if args.single_events:
                later = state_events(machines, args.single_events, base + timedelta(days=20))
                rates["states single"].append(timed("states: record_state_change", len(later),
                                                    lambda: run_single_states(engine, tenant, later, args.batch),
                                                    False))
            if args.late_share:
                late = with_late(state_events(machines, args.state_events, base + timedelta(days=30)),
                                 args.late_share)
                rates["states late"].append(timed(f"states: {args.late_share:.0%} late", len(late),
                                                  lambda: run_states(engine, tenant, late, args.batch), False))
            # Raw intervals go before everything the write path wrote: its open intervals stay last.
            raw_events = state_events(machines, args.state_events, EPOCH - state_span * (r + 1))
            rates["states raw"].append(timed("states: raw insert … unnest", len(raw_events),
                                             lambda: run_raw_states(engine, tenant, raw_events, args.batch), False))
        engine.dispose()
    med = {k: statistics.median(v) for k, v in rates.items() if v}
    print(f"\nmedian of {args.rounds} rounds, {args.machines} machines, {args.batch} events per transaction:")
    for kind in ("counts", "states"):
        print(f"  {kind:<7} write path {med[kind]:>10,.0f} events/s   raw {med[kind + ' raw']:>10,.0f} events/s   "
              f"ratio {med[kind] / med[kind + ' raw']:.2f}")
    if rates["states late"]:
        late_rate = statistics.median(rates["states late"])
        print(f"  states with {args.late_share:.0%} late  {late_rate:>10,.0f} events/s   "
              f"ratio to raw {late_rate / med['states raw']:.2f}")
    if rates["states single"]:
        print(f"  states event by event (record_state_change) {statistics.median(rates['states single']):,.0f} "
              "events/s")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
