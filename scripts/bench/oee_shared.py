"""Dashboards polling a site's OEE for the running shift: shared snapshot vs per request, one run.

Starts `factoryos serve` on an embedded PostgreSQL in a temp directory and seeds one company
like `request_cpu` (a UTC site with a 24-hour shift, `--machines` machines in lines of 10),
with `--entries` one-minute entries per machine earlier in the shift. Then `--dashboards`
clients each poll the site's OEE every `--interval` seconds (random phases) for `--seconds`,
once per mode, the modes alternating for `--rounds` rounds in the same server and data:

  direct   `from` = the shift's start, `to` = now: what dashboards asked before, computed per request
  shared   `shift=running`: cut from the site's shared snapshot, renewed off the request path

`--with-live` makes each poll read the site's live view first, as the TUI dashboard does (the
snapshot then is renewed for the live view anyway). Server CPU per request is the user + system
time of every server process over the phase divided by its OEE requests: in `shared` it
includes the background renewals. After a `shared` phase the next phase waits until the
renewer has let the site go, so its renewals are not charged to `direct`.

Prints per mode requests, server CPU per request (per poll, live view and OEE, with `--with-live`),
p50/p95/p99 latency of the OEE requests, and direct ÷ shared.

Run: python -m scripts.bench.oee_shared [--machines 200] [--dashboards 10] [--interval 2] [--seconds 20]
     [--rounds 2] [--workers 1] [--with-live] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx

from scripts.bench.api_load import percentile
from scripts.drills.plant import Plant, join, new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, scratch_dir

RENEWER_LETS_GO = 11.0  # seconds: a site unread this long is no longer renewed (factoryos.live.snapshots)


def book_entries(client: httpx.Client, plant: Plant, per_machine: int, shift_start: datetime) -> int:
    """Up to `per_machine` one-minute entries per machine, spread over the shift so far."""
    minutes = int((datetime.now(UTC) - shift_start).total_seconds() // 60) - 1
    count = min(per_machine, max(0, minutes))
    step = minutes // count if count else 0
    for machine_id in plant.machine_ids:
        for k in range(count):
            start = shift_start + timedelta(minutes=k * step)
            r = client.post("/api/v1/production/entry", headers=plant.owner.headers, json={
                "machine_id": machine_id, "good_quantity": 1 + k % 3, "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=1)).isoformat()})
            if r.status_code != 201:
                raise RuntimeError(f"booking: {r.status_code} {r.text[:300]}")
    return count * len(plant.machine_ids)


async def poll(session: aiohttp.ClientSession, url: str, headers: dict[str, str], params: Any, live: Any,
               interval: float, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    while time.monotonic() < stop_at:
        began = time.monotonic()
        try:
            if live is not None:
                async with session.get(f"{url}/api/v1/production/live", params=live, headers=headers) as r:
                    await r.read()
            sent = time.perf_counter()
            async with session.get(f"{url}/api/v1/kpis/oee", params=params(), headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors.append(f"{r.status} {(await r.text())[:200]}")
            latencies.append(time.perf_counter() - sent)
        except aiohttp.ClientError as exc:
            errors.append(repr(exc))
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))


async def phase(server: ServerProcess, headers: dict[str, str], params: Any, live: Any,
                args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=args.dashboards)
    async with aiohttp.ClientSession(connector=connector) as session:
        cpu, wall = server.cpu_seconds(), time.monotonic()
        stop_at = wall + args.seconds
        await asyncio.gather(*(poll(session, server.url, headers, params, live, args.interval, stop_at,
                                    latencies, errors) for _ in range(args.dashboards)))
        cpu, wall = server.cpu_seconds() - cpu, time.monotonic() - wall
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "errors": len(errors), "error_sample": errors[:3],
            "cpu_ms_per_request": 1000 * cpu / max(1, n), "server_cpu_share": cpu / wall,
            "p50_ms": 1000 * percentile(latencies, 0.50), "p95_ms": 1000 * percentile(latencies, 0.95),
            "p99_ms": 1000 * percentile(latencies, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--entries", type=int, default=5, help="one-minute entries per machine")
    parser.add_argument("--dashboards", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a dashboard's polls")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--with-live", action="store_true", help="each poll reads the site's live view first")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    results: dict[str, list[dict[str, Any]]] = {"direct": [], "shared": []}
    with scratch_dir("factoryos-oee-") as data, embedded_database(data) as urls:
        server = ServerProcess(urls.app, data, workers=args.workers).start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                owner = new_company(client, "OEE Works")
                plant = seed_plant(client, owner, machines=args.machines, cycle_seconds="10")
                viewer = join(client, owner, "read_only", "Wall board")
                r = client.post(f"/api/v1/sites/{plant.site_id}/operators", json={"user_id": owner.user_id},
                                headers=owner.headers)
                if r.status_code != 201:
                    raise RuntimeError(f"operator: {r.status_code} {r.text[:300]}")
                live = client.get("/api/v1/production/live", params={"site_id": plant.site_id},
                                  headers=viewer.headers).json()
                shift_start = datetime.fromisoformat(next(m["shift"] for m in live["machines"] if m["shift"])
                                                     ["starts_at"])
                booked = book_entries(client, plant, args.entries, shift_start)
                print(f"{args.machines} machines, {booked} entries since {shift_start:%H:%M} UTC; "
                      f"{args.dashboards} dashboards every {args.interval:g} s, {args.workers} worker(s)"
                      f"{', live view first' if args.with_live else ''}", flush=True)
            site = {"scope": "site", "id": plant.site_id}
            modes = {"direct": lambda: site | {"from": shift_start.isoformat(), "to": datetime.now(UTC).isoformat()},
                     "shared": lambda: site | {"shift": "running"}}
            live_params = {"site_id": plant.site_id} if args.with_live else None
            for r in range(args.rounds):
                for mode, params in modes.items():
                    if mode == "direct" and r:
                        time.sleep(RENEWER_LETS_GO)  # the previous shared phase's renewals end first
                    out = asyncio.run(phase(server, viewer.headers, params, live_params, args))
                    results[mode].append(out)
                    print(f"  round {r + 1} {mode:<7} {out['requests']:>5} requests  "
                          f"{out['cpu_ms_per_request']:>7.2f} ms CPU/request  p50 {out['p50_ms']:6.1f}  "
                          f"p95 {out['p95_ms']:6.1f}  p99 {out['p99_ms']:6.1f} ms  errors {out['errors']}"
                          + (f" {out['error_sample']}" if out["errors"] else ""), flush=True)
        finally:
            server.stop()
    best = {m: min(runs, key=lambda x: x["cpu_ms_per_request"]) for m, runs in results.items()}
    d, s = best["direct"], best["shared"]
    print("\nleast disturbed round of each mode:")
    for mode, out in best.items():
        print(f"  {mode:<7} {out['cpu_ms_per_request']:>7.2f} ms CPU/request  p50 {out['p50_ms']:6.1f}  "
              f"p95 {out['p95_ms']:6.1f} ms")
    print(f"  direct ÷ shared: CPU {d['cpu_ms_per_request'] / s['cpu_ms_per_request']:.1f}×, "
          f"p50 {d['p50_ms'] / s['p50_ms']:.1f}×, p95 {d['p95_ms'] / s['p95_ms']:.1f}×")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
