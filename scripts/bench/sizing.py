"""Disk and memory per machine: what a plant's database grows by, measured, for the sizing table.

A company with `--machines` PLC-connected machines and `--terminals` hand-entry terminals is
seeded through the API (`factoryos serve` on an embedded PostgreSQL in a temp directory). Then
`--days` days of a busy plant are written through the server's own write paths:

  counts    one count delta per machine and minute (what the poller's sink stores)
  states    a state change every few minutes per machine (running, idle, running, a stop:
            four changes per 13.5 minutes), which also opens downtime for the long stops
  entries   one production entry per terminal every 30 minutes, posted over HTTP (each one
            also an audit row with the hash chain)

Table sizes (heap, indexes, TOAST) are read before and after; the growth per machine-day is
extrapolated to a year, together with a `pg_dump -Fc` of the database (what each backup
takes). The server's resident memory is read at the end. The figures feed README's sizing
table.

Run: python -m scripts.bench.sizing [--machines 20] [--terminals 10] [--days 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
from sqlalchemy import create_engine, text

from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.db.engine import make_engine
from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts
from factoryos.production.state_batch import StateRow, record_state_changes
from scripts.bench.ingest import CYCLE, batches
from scripts.drills.plant import new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

SIZES = text("""
select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c
join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'
""")


def database_bytes(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("checkpoint"))
            return int(conn.execute(SIZES).scalar_one())
    finally:
        engine.dispose()


def dump_bytes(url: str) -> int:
    target, env = libpq_target(url)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "db.dump"
        subprocess.run([str(find_tool("pg_dump")), "-Fc", "-f", str(out), target], env={**os.environ, **env},
                       check=True, capture_output=True)
        return out.stat().st_size


def write_signals(app_url: str, tenant: UUID, machines: list[UUID], start: datetime, days: int) -> None:
    engine = make_engine(app_url, pool_size=2, application_name="factoryos-sizing")
    minutes = days * 24 * 60
    counts = [CountRow(m, start + timedelta(minutes=i), 55 + i % 7, i % 3, f"{m}|{i}")
              for i in range(minutes) for m in machines]
    for batch in batches(counts, 500):
        with tenant_transaction(engine, tenant) as conn:
            record_counts(conn, tenant, batch)
    events = []
    for k, m in enumerate(machines):
        at, step = start + timedelta(seconds=3 * k), 0
        while at < start + timedelta(days=days):
            state, code, seconds = CYCLE[step % len(CYCLE)]
            events.append((at, m, state, code))
            at, step = at + timedelta(seconds=seconds), step + 1
    events.sort()
    for batch in batches(events, 500):
        with tenant_transaction(engine, tenant) as conn:
            record_state_changes(conn, tenant, [StateRow(m, s, c, at) for at, m, s, c in batch])
    engine.dispose()


def post_entries(client: httpx.Client, plant, start: datetime, days: int) -> int:
    posted = 0
    for slot in range(days * 48):
        begin = start + timedelta(minutes=30 * slot)
        for terminal in plant.terminals:
            body = {"machine_id": terminal.machine_id, "good_quantity": 40 + slot % 9,
                    "started_at": begin.isoformat(), "ended_at": (begin + timedelta(minutes=30)).isoformat(),
                    "note": "sizing"}
            r = client.post("/api/v1/production/entry", json=body, headers=terminal.operator.headers)
            if r.status_code != 201:
                raise SystemExit(f"entry refused: {r.status_code} {r.text[:300]}")
            posted += 1
    return posted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=20, help="machines counted by their PLC")
    parser.add_argument("--terminals", type=int, default=10, help="machines entered by hand at a terminal")
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=args.days)
    with scratch_dir("factoryos-sizing-") as data, embedded_database(data) as urls:
        admin = superuser_url(urls)
        with ServerProcess(urls.app, data) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            owner = new_company(client, "Sizing Works")
            plant = seed_plant(client, owner, machines=args.machines + args.terminals, terminals=args.terminals)
            before, dump_before = database_bytes(admin), dump_bytes(admin)
            counted = [UUID(m) for m in plant.machine_ids[args.terminals:]]
            t0 = time.perf_counter()
            write_signals(urls.app, UUID(owner.tenant_id), counted, start, args.days)
            entries = post_entries(client, plant, start, args.days)
            elapsed = time.perf_counter() - t0
            rss = server.rss_mib()
        after, dump_after = database_bytes(admin), dump_bytes(admin)
    machine_days = (args.machines + args.terminals) * args.days
    per_year = (after - before) / machine_days * 365
    dump_year = (dump_after - dump_before) / machine_days * 365
    mib = 1024 * 1024
    print(f"{args.machines} PLC machines + {args.terminals} terminals, {args.days} days "
          f"({entries} entries over HTTP), written in {elapsed:.0f} s")
    print(f"database grew {(after - before) / mib:.1f} MiB; backup (pg_dump -Fc) grew {(dump_after - dump_before) / mib:.1f} MiB")
    print(f"per machine and year: database {per_year / mib:.0f} MiB, a backup of it {dump_year / mib:.0f} MiB")
    print(f"server resident memory {rss:.0f} MiB")
    print("\nmachines  database after a year  one backup of it")
    for n in (10, 50, 200):
        print(f"{n:>8}  {n * per_year / 1024**3:>19.1f} GiB  {n * dump_year / 1024**3:>12.2f} GiB")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
