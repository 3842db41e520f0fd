"""API under load: operator terminals and dashboards against `factoryos serve`.

The server runs under uvicorn in its own process(es) (`factoryos serve --workers N`, default one per core) against
an embedded PostgreSQL in a temp directory; this process seeds one company (a UTC site
with a 24-hour shift, one machine and one operator account per terminal, lines of 10)
and then generates the load on loopback:

  terminal   POST /production/entry every 2 s (Idempotency-Key, retried with the same
             key on a transport error or 5xx), and GET /production/live for its line
             every 2 s, on independent timers with random phases
  dashboard  like the TUI dashboard: GET /production/live for the site, then
             /kpis/oee for the site since shift start and /rejections of the shift
             together; the next poll 2 s after the previous one finished

The generator is one asyncio loop with one aiohttp session (keep-alive pool). Not
httpx: its async pool costs 2–13 ms of CPU per request as concurrency grows (measured
here: 5.9 ms at 50 in flight, 13 ms at 300), so it would eat a core and become the
bottleneck; aiohttp costs 0.3–0.5 ms. The generator prints its own CPU use. Timers are
fixed-rate; a terminal whose request overran its slot goes on at once and counts a
late tick (latency then understates queueing; late ticks show it).

Prints requests/s, p50/p95/p99/max latency per endpoint, errors, late ticks, server
RSS (start, peak, end) and CPU, and checks that every accepted entry is stored once.

Run: python -m scripts.bench.api_load [--terminals 200] [--dashboards 10] [--duration 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from sqlalchemy import create_engine, pool, text

from scripts.drills.plant import Member, Plant, Terminal, join, new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir, superuser_url

INTERVAL = 2.0
RETRIES = 3
DEFAULT_WORKERS = os.cpu_count() or 1


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    late_ticks: int = 0
    entries_created: int = 0
    entries_lost: int = 0

    def error(self, endpoint: str, what: str) -> None:
        self.errors[f"{endpoint}: {what}"] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{endpoint}: {what}")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


async def timed(client: aiohttp.ClientSession, stats: Stats, endpoint: str, method: str, url: str,
                **kw: Any) -> Reply | None:
    started = time.perf_counter()
    try:
        async with client.request(method, url, **kw) as r:
            raw = await r.read()
            status = r.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        stats.error(endpoint, type(exc).__name__)
        return None
    stats.latencies[endpoint].append(time.perf_counter() - started)
    if status >= 400:
        stats.error(endpoint, f"{status} {raw[:160].decode(errors='replace')}")
    return Reply(status, json.loads(raw) if raw else None)


async def ticks(stop_at: float, stats: Stats, rng: random.Random):
    """Fixed-rate slots every INTERVAL seconds from a random phase until `stop_at`."""
    loop = asyncio.get_running_loop()
    slot = loop.time() + rng.uniform(0, INTERVAL)
    while slot < stop_at:
        now = loop.time()
        if slot > now:
            await asyncio.sleep(slot - now)
        else:
            stats.late_ticks += 1
        yield
        slot += INTERVAL
        if slot < loop.time() - INTERVAL:  # more than a slot behind: skip, do not burst
            slot = loop.time()


async def terminal_entries(client: aiohttp.ClientSession, t: Terminal, stop_at: float, stats: Stats,
                           rng: random.Random) -> None:
    headers = dict(t.operator.headers)
    async for _ in ticks(stop_at, stats, rng):
        headers["Idempotency-Key"] = f"load-{uuid.uuid4().hex}"
        body = {"machine_id": t.machine_id, "good_quantity": 1}
        for _attempt in range(RETRIES):
            r = await timed(client, stats, "POST entry", "POST", "/api/v1/production/entry", json=body,
                            headers=headers)
            if r is not None and r.status < 500:
                if r.status == 201:
                    stats.entries_created += 1
                break
        else:
            stats.entries_lost += 1


async def terminal_live(client: aiohttp.ClientSession, t: Terminal, site_id: str, stop_at: float, stats: Stats,
                        rng: random.Random) -> None:
    params = {"site_id": site_id, "line_id": t.line_id}
    async for _ in ticks(stop_at, stats, rng):
        await timed(client, stats, "GET live (line)", "GET", "/api/v1/production/live", params=params,
                    headers=t.operator.headers)


async def dashboard(client: aiohttp.ClientSession, who: Member, site_id: str, stop_at: float, stats: Stats,
                    rng: random.Random) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(rng.uniform(0, INTERVAL))
    h = who.headers
    while loop.time() < stop_at:
        live = await timed(client, stats, "GET live (site)", "GET", "/api/v1/production/live",
                           params={"site_id": site_id}, headers=h)
        shift = None
        if live is not None and live.status == 200:
            body = live.body
            shift = next((m["shift"] for m in body["machines"] if m["shift"]), None)
            if shift is not None and body["at"] > shift["starts_at"]:
                calls = [timed(client, stats, "GET kpis/oee (site)", "GET", "/api/v1/kpis/oee", headers=h,
                               params={"scope": "site", "id": site_id, "from": shift["starts_at"], "to": body["at"]})]
                if shift["id"]:
                    calls.append(timed(client, stats, "GET rejections", "GET", "/api/v1/rejections", headers=h,
                                       params={"shift_instance_id": shift["id"]}))
                await asyncio.gather(*calls)
        await asyncio.sleep(min(INTERVAL, max(0.0, stop_at - loop.time())))


async def sample_rss(probe: Callable[[], float], stop_at: float, samples: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        await asyncio.sleep(min(15.0, max(0.0, stop_at - loop.time())))
        samples.append(probe())


def wait_sampler(superuser: str) -> Callable[[], Counter[str]]:
    """What the server's database sessions are doing right now (for `--pg-waits`)."""
    engine = create_engine(superuser, poolclass=pool.NullPool)
    conn = engine.connect()
    conn.execution_options(isolation_level="AUTOCOMMIT")

    def sample() -> Counter[str]:
        rows = conn.execute(text(
            "select state, coalesce(wait_event_type || ':' || wait_event, 'cpu') from pg_stat_activity "
            "where application_name = 'factoryos-server' and state <> 'idle'")).all()
        return Counter(f"{state} / {wait}" for state, wait in rows)

    return sample


async def sample_waits(probe: Callable[[], Counter[str]], stop_at: float, totals: Counter[str]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        await asyncio.sleep(0.5)
        totals.update(await asyncio.to_thread(probe))


async def generate(url: str, plant: Plant, dashboards: list[Member], duration: float, stats: Stats,
                   rss: list[float] | None = None, rss_probe: Callable[[], float] | None = None,
                   waits: tuple[Callable[[], Counter[str]], Counter[str]] | None = None) -> None:
    """Run the terminals and dashboards against `url` for `duration` seconds (sampling RSS if asked)."""
    connector = aiohttp.TCPConnector(limit=2 * len(plant.terminals) + 3 * len(dashboards))
    rng = random.Random(11)
    async with aiohttp.ClientSession(url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as client:
        stop_at = asyncio.get_running_loop().time() + duration
        tasks = [terminal_entries(client, t, stop_at, stats, rng) for t in plant.terminals]
        tasks += [terminal_live(client, t, plant.site_id, stop_at, stats, rng) for t in plant.terminals]
        tasks += [dashboard(client, d, plant.site_id, stop_at, stats, rng) for d in dashboards]
        if rss is not None and rss_probe is not None:
            tasks.append(sample_rss(rss_probe, stop_at, rss))
        if waits is not None:
            tasks.append(sample_waits(waits[0], stop_at, waits[1]))
        await asyncio.gather(*tasks)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def report(stats: Stats, elapsed: float, meta: dict[str, Any]) -> dict[str, Any]:
    rows = {}
    for name, values in sorted(stats.latencies.items()):
        values.sort()
        rows[name] = {"requests": len(values), "rps": len(values) / elapsed,
                      "p50_ms": percentile(values, 0.50) * 1000, "p95_ms": percentile(values, 0.95) * 1000,
                      "p99_ms": percentile(values, 0.99) * 1000, "max_ms": values[-1] * 1000}
    total = sum(r["requests"] for r in rows.values())
    out = {**meta, "elapsed_s": elapsed, "requests": total, "rps": total / elapsed, "endpoints": rows,
           "errors": sum(stats.errors.values()), "error_kinds": dict(stats.errors.most_common(10)),
           "late_ticks": stats.late_ticks, "entries_created": stats.entries_created,
           "entries_lost": stats.entries_lost}
    print(f"\n{meta['terminals']} terminals + {meta['dashboards']} dashboards for {elapsed:.0f} s "
          f"({meta['workers']} server workers, load average at the end {meta['load_average']}): "
          f"{total} requests, {total / elapsed:.1f} req/s, errors {out['errors']}, late ticks {stats.late_ticks}")
    print(f"{'endpoint':<22}{'req':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, r in rows.items():
        print(f"{name:<22}{r['requests']:>8}{r['rps']:>8.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
              f"{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}")
    for kind, n in stats.errors.most_common(10):
        print(f"  error ×{n}: {kind}")
    print(f"server RSS: start {meta['rss_start_mib']:.1f} MiB, peak {meta['rss_peak_mib']:.1f} MiB, "
          f"end {meta['rss_end_mib']:.1f} MiB; server CPU {meta['server_cpu_pct']:.0f}% of one core; "
          f"generator CPU {meta['generator_cpu_pct']:.0f}% of one core")
    print(f"entries: {stats.entries_created} created (201), {meta['entries_stored']} stored, "
          f"{stats.entries_lost} given up after {RETRIES} attempts")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200, help="simulated operator terminals")
    parser.add_argument("--dashboards", type=int, default=10, help="simulated dashboards")
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--pool-size", type=int, default=10, help="server's FACTORYOS_DB_POOL_SIZE (per worker)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="server worker processes (`factoryos serve --workers`); default: one per core")
    parser.add_argument("--pg-waits", action="store_true",
                        help="sample what the server's database sessions wait on (pg_stat_activity, twice a second)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    with scratch_dir("factoryos-load-") as data, embedded_database(data) as urls:
        server = ServerProcess(urls.app, data, env={"FACTORYOS_DB_POOL_SIZE": str(args.pool_size)},
                               workers=args.workers).start()
        print(f"server: {args.workers} worker process(es), pool {args.pool_size} per worker; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                seed_started = time.perf_counter()
                owner = new_company(client, "Load Works")
                plant = seed_plant(client, owner, machines=args.terminals, terminals=args.terminals,
                                   cycle_seconds="0.01")
                viewers = [join(client, owner, "read_only", f"Dashboard {i}") for i in range(args.dashboards)]
                print(f"seeded {args.terminals} machines and operators, {args.dashboards} dashboard accounts "
                      f"in {time.perf_counter() - seed_started:.1f} s")
            stats, rss = Stats(), [server.rss_mib()]
            cpu_server, cpu_gen, started = server.cpu_seconds(), time.process_time(), time.perf_counter()
            waits = (wait_sampler(superuser_url(urls)), Counter[str]()) if args.pg_waits else None
            asyncio.run(generate(server.url, plant, viewers, args.duration, stats, rss, server.rss_mib, waits))
            elapsed = time.perf_counter() - started
            meta = {"terminals": args.terminals, "dashboards": args.dashboards, "duration_s": args.duration,
                    "pool_size": args.pool_size, "workers": args.workers,
                    "load_average": [round(x, 2) for x in os.getloadavg()], "rss_start_mib": rss[0], "rss_end_mib": server.rss_mib(),
                    "rss_peak_mib": max(rss), "rss_samples_mib": [round(x, 1) for x in rss],
                    "server_cpu_pct": 100 * (server.cpu_seconds() - cpu_server) / elapsed,
                    "generator_cpu_pct": 100 * (time.process_time() - cpu_gen) / elapsed}
        finally:
            server.stop()
        engine = create_engine(superuser_url(urls), poolclass=pool.NullPool)
        with engine.connect() as conn:
            meta["entries_stored"] = conn.execute(
                text("select count(*) from production_entries where tenant_id = :t"), {"t": plant.owner.tenant_id}
            ).scalar_one()
        engine.dispose()
        out = report(stats, elapsed, meta)
        if waits is not None:
            samples = int(args.duration / 0.5)
            print("database sessions of the server, average count by state / wait event:")
            for kind, n in waits[1].most_common(12):
                print(f"  {n / samples:6.2f}  {kind}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
