"""Overlap checks as one machine's history grows: time per production entry at 0, 100k and 1M rows.

A manual production entry meets two overlap checks: the entry-facts query of
`factoryos.production.entries` (reports the clashing entry to the operator) and the
`production_reject_overlap()` trigger (the last word under concurrency). Both must stay
flat as a machine's history grows; this measures each, old against new, in the same run
on the same database, alternating so other load on the machine spreads over both:

  facts old   the entry-facts query before this change (first overlapping entry by a forward scan)
  facts now   the entry-facts query of factoryos.production.entries (two bounded probes)
  trig 0004   the first trigger (`execute format`, planned per row, tests every interval)
  trig now    the trigger at head (static queries, one backward index step)
  no trig     the same insert with the trigger disabled: what the insert itself costs (its
              indexes grow too), so the trigger's own cost is the difference

History is loaded behind the app's back (superuser, triggers off) as back-to-back
one-minute entries of one machine ending before the measured inserts; each measured insert
is one app-role transaction under RLS, appended after the last entry, as a terminal does.
A trigger variant is switched with `create or replace function` between rounds.

Run: python -m scripts.bench.overlap [--sizes 0,100000,1000000] [--inserts 200]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from sqlalchemy import Connection, Engine, create_engine, pool, text

from factoryos.db.driver import fetch_one
from factoryos.db.engine import make_engine
from factoryos.db.tenant import tenant_transaction
from factoryos.production import entries
from scripts.drills.plant import new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# The entry-facts query before this change: its clash probe walked the machine's entries forward
# from the first one, and the last-entry probe read every entry of the shift across machines.
OLD_FACTS = text(
    """
    with period as (
      select coalesce(cast(:start as timestamptz),
                      greatest(cast(:shift_start as timestamptz),
                               (select max(e.ended_at) from production_entries e
                                where e.tenant_id = :tenant and e.machine_id = :machine
                                  and e.shift_instance_id = :instance))) as started_at
    )
    select p.started_at,
           exists(select 1 from site_operators so
                  join memberships mb on mb.tenant_id = so.tenant_id and mb.user_id = so.user_id
                  where so.tenant_id = :tenant and so.site_id = :site and so.user_id = :operator) as is_operator,
           c.id as clash_id, c.started_at as clash_start, c.ended_at as clash_end, c.good_quantity as clash_good,
           k.first_minute, k.last_minute,
           coalesce(cast(:operation as uuid), r.operation_id) as operation_id,
           (cast(:operation as uuid) is null
            or exists(select 1 from order_operations o where o.tenant_id = :tenant and o.id = cast(:operation as uuid)))
             as operation_known
    from period p
    left join lateral (
      select e.id, e.started_at, e.ended_at, e.good_quantity from production_entries e
      where e.tenant_id = :tenant and e.machine_id = :machine
        and e.started_at < cast(:end as timestamptz) and e.ended_at > p.started_at
      order by e.started_at limit 1) c on true
    left join lateral (
      select min(b.minute) as first_minute, max(b.minute) as last_minute from machine_count_buckets b
      where b.tenant_id = :tenant and b.machine_id = :machine
        and b.minute > p.started_at - interval '1 minute' and b.minute < cast(:end as timestamptz)) k on true
    left join lateral (  -- the operation running on the machine when the period starts
      select r.operation_id from operation_runs r
      where r.tenant_id = :tenant and r.machine_id = :machine and r.started_at <= p.started_at
        and (r.ended_at is null or r.ended_at > p.started_at)
      order by r.started_at desc limit 1) r on true
    """
)
NO_OVERLAP_0004 = importlib.import_module("factoryos.db.migrations.versions.0004_production").NO_OVERLAP_FN


def current_trigger(conn: Connection) -> str:
    return conn.execute(text(
        "select pg_get_functiondef('production_reject_overlap'::regproc)")).scalar_one()


def load_history(admin: Engine, tenant: UUID, machine: UUID, instance: UUID, operator: UUID, first: int,
                 count: int) -> None:
    """`count` more one-minute entries, the newest ending at EPOCH, older ones before (rows first…first+count)."""
    with admin.begin() as conn:
        conn.execute(text("set local session_replication_role = replica"))  # no triggers: the load is not measured
        conn.execute(text("""
            insert into production_entries (tenant_id, machine_id, shift_instance_id, operator_id, good_quantity,
                                            started_at, ended_at)
            select :t, :m, :i, :o, 1, cast(:epoch as timestamptz) - (g + 1) * interval '1 minute',
                   cast(:epoch as timestamptz) - g * interval '1 minute'
            from generate_series(cast(:first as bigint), cast(:last as bigint)) g"""),
                     {"t": tenant, "m": machine, "i": instance, "o": operator, "epoch": EPOCH,
                      "first": first, "last": first + count - 1})
    with admin.connect() as conn:
        # Settle the load (hint bits, visibility map, statistics, dirty pages) so it is not measured either.
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("vacuum (analyze) production_entries"))
        auto.execute(text("checkpoint"))


class Clock:
    """Hands out the next free minute after the history, so measured inserts never overlap."""

    def __init__(self) -> None:
        self.at = EPOCH

    def next(self) -> tuple[datetime, datetime]:
        start = self.at
        self.at += timedelta(minutes=1)
        return start, self.at


def facts_probe(app: Engine, tenant: UUID, ids: dict[str, UUID], query: object, clock: Clock) -> Callable[[], None]:
    def run() -> None:
        start, end = clock.next()
        params = {"tenant": tenant, "machine": ids["machine"], "instance": ids["instance"], "site": ids["site"],
                  "operator": ids["operator"], "start": start, "shift_start": start - timedelta(hours=8),
                  "end": end, "operation": None}
        with tenant_transaction(app, tenant) as conn:
            # The current query is psycopg text run on the driver connection, as `entries` runs it.
            row = (fetch_one(conn, query, params) if isinstance(query, str)
                   else conn.execute(query, params).mappings().one())  # type: ignore[call-overload]
            assert row is not None and row["clash_id"] is None, row
    return run


def trigger_insert(app: Engine, tenant: UUID, ids: dict[str, UUID], clock: Clock) -> Callable[[], None]:
    def run() -> None:
        start, end = clock.next()
        with tenant_transaction(app, tenant) as conn:
            conn.execute(text("""
                insert into production_entries (tenant_id, machine_id, shift_instance_id, operator_id,
                                                good_quantity, started_at, ended_at)
                values (:t, :m, :i, :o, 1, :s, :e)"""),
                         {"t": tenant, "m": ids["machine"], "i": ids["instance"], "o": ids["operator"],
                          "s": start, "e": end})
    return run


def per_call_ms(fn: Callable[[], None], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="0,100000,1000000", help="history sizes (rows of one machine), ascending")
    ap.add_argument("--inserts", type=int, default=200, help="measured inserts per variant and size")
    ap.add_argument("--rounds", type=int, default=3, help="alternations of old and new per size")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with scratch_dir("factoryos-overlap-") as data, embedded_database(data) as urls:
        with ServerProcess(urls.app, data) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            owner = new_company(client, "Overlap Works")
            plant = seed_plant(client, owner, machines=2, terminals=1)
            t = plant.terminals[0]
            r = client.post("/api/v1/production/entry", json={"machine_id": plant.machine_ids[1], "good_quantity": 1},
                            headers={**t.operator.headers, "Idempotency-Key": uuid.uuid4().hex})
            r.raise_for_status()
            instance = UUID(r.json()["shift_instance_id"])
        tenant = UUID(owner.tenant_id)
        ids = {"machine": UUID(t.machine_id), "instance": instance, "site": UUID(plant.site_id),
               "operator": UUID(t.operator.user_id)}
        admin = create_engine(superuser_url(urls), poolclass=pool.NullPool)
        app = make_engine(urls.app, pool_size=1, application_name="factoryos-overlap-bench")
        with admin.connect() as conn:
            head_fn = current_trigger(conn)
        clock = Clock()
        loaded = 0
        print(f"{'history rows':>12} | {'facts old':>10} {'facts now':>10} {'ratio':>6} | "
              f"{'trig 0004':>10} {'trig now':>10} {'ratio':>6} {'no trig':>8}   (median ms per entry)")
        for size in sizes:
            if size > loaded:
                load_history(admin, tenant, ids["machine"], instance, ids["operator"], loaded, size - loaded)
                loaded = size
            got: dict[str, list[float]] = {k: [] for k in ("facts_old", "facts_new", "trig_old", "trig_new",
                                                               "no_trig")}
            # The scanning trigger tests every row: at 1M rows it takes long, so fewer samples.
            old_n = args.inserts if size <= 100_000 else max(10, args.inserts // 20)
            for _ in range(args.rounds):
                got["facts_old"].append(per_call_ms(facts_probe(app, tenant, ids, OLD_FACTS, clock), args.inserts))
                got["facts_new"].append(per_call_ms(
                    facts_probe(app, tenant, ids, entries._ENTRY_FACTS, clock), args.inserts))
                with admin.begin() as conn:
                    conn.execute(text(NO_OVERLAP_0004.replace("create function", "create or replace function")))
                got["trig_old"].append(per_call_ms(trigger_insert(app, tenant, ids, clock), old_n))
                with admin.begin() as conn:
                    conn.execute(text(head_fn))
                got["trig_new"].append(per_call_ms(trigger_insert(app, tenant, ids, clock), args.inserts))
                with admin.begin() as conn:
                    conn.execute(text("alter table production_entries disable trigger production_entries_no_overlap"))
                got["no_trig"].append(per_call_ms(trigger_insert(app, tenant, ids, clock), args.inserts))
                with admin.begin() as conn:
                    conn.execute(text("alter table production_entries enable trigger production_entries_no_overlap"))
            m = {k: statistics.median(v) for k, v in got.items()}
            print(f"{size:>12} | {m['facts_old']:>10.3f} {m['facts_new']:>10.3f} "
                  f"{m['facts_old'] / m['facts_new']:>5.1f}x | {m['trig_old']:>10.3f} {m['trig_new']:>10.3f} "
                  f"{m['trig_old'] / m['trig_new']:>5.1f}x {m['no_trig']:>8.3f}", flush=True)
        app.dispose()
        admin.dispose()


if __name__ == "__main__":
    main()
