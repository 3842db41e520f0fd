"""Server CPU per request, per endpoint, one request at a time.

Wall-clock latency on a shared machine says more about the neighbours than about the
server; the CPU the server process spends per request does not. This starts
`factoryos serve` on an embedded PostgreSQL in a temp directory, seeds one company like
`api_load` (a UTC site with a 24-hour shift, `--machines` machines in lines of 10,
`--terminals` operators), then for each endpoint sends `--warmup` requests and
`--requests` more, one after the other, and divides the server's CPU time (user +
system from /proc, all its processes) by the count.

`--orders` measures every endpoint a second time after an order operation was started on every
machine (one product whose routing gives each line its own standard, see `running_orders`), in
the same server and data, and prints both side by side: entries then belong to the running
operation and the live view carries the order and its progress.

`--baseline DIR` also starts FactoryOS from another source tree (say `git archive` of the last
release, unpacked) on the same database and measures every endpoint on both, alternating, and
prints both side by side (before/after in one run).

The installation's duties (polling, webhooks, MQTT publishing, the backup schedule) run in the one
server holding the duty lock: its background work, about 0.2 s of CPU when they start (a full garbage
collection and imports) and database reads while they run, would be charged to that server's
requests alone. So this script holds the duty lock itself and neither server runs them (`--duties`:
they compete for it as usual). Measuring begins once every server is idle.

PostgreSQL's CPU per request (all its processes, from /proc) is printed beside the server's: a
change that moves work from the server to the database shows there. Both servers of a
`--baseline` run share the database, so its idle work (the other server's snapshots and duties)
counts in both alike.

`--py-spy DIR` samples the server with py-spy (`pip install py-spy` into the venv; it needs
ptrace rights, e.g. root) while each endpoint's requests run, raw stacks of the threads
holding the GIL, one file per endpoint.

Run: python -m scripts.bench.request_cpu [--machines 200] [--requests 300] [--rounds 2] [--orders]
     [--baseline DIR] [--duties] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from factoryos.duties import DUTY_KEY, NAME_PREFIX
from scripts.bench.floor import Baseline
from scripts.bench.running_orders import start_orders
from scripts.drills.plant import Plant, join, new_company, seed_plant
from scripts.drills.stack import ServerProcess, child_pids, embedded_database, scratch_dir


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def database_cpu(data: Path) -> float:
    """User + system CPU seconds of the embedded PostgreSQL under `data` (postmaster and backends)."""
    postmaster = int((data / "pg" / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for pid in [postmaster, *child_pids(postmaster)]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextlib.contextmanager
def duties_held(app_url: str) -> Iterator[None]:
    """Hold the installation's duty lock (`factoryos.duties`) in a session of this script's."""
    since = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    with psycopg.connect(app_url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True,
                         application_name=f"{NAME_PREFIX} bench {os.getpid()} {since}") as conn:
        row = conn.execute("select pg_try_advisory_lock(%s)", (DUTY_KEY,)).fetchone()
        if not row or not row[0]:
            raise RuntimeError("the duty lock is held already")
        yield


def settle(servers: list[ServerProcess], duties: bool, timeout: float = 30.0) -> None:
    """With `duties`: wait until one of `servers` runs them (its health shows its poller; at most
    `timeout`, as without a poller it never does). Then until none is busy."""
    deadline = time.monotonic() + timeout
    while duties and time.monotonic() < deadline and not any(_polls(s) for s in servers):
        time.sleep(0.5)
    time.sleep(1.0)  # the duties' own start-up (imports, first reads) after the poller's
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        before = [s.cpu_seconds() for s in servers]
        time.sleep(1.0)
        if all(s.cpu_seconds() - b < 0.05 for s, b in zip(servers, before, strict=True)):
            return
    print("  (servers still busy after the settling time; measuring anyway)", flush=True)


def _polls(server: ServerProcess) -> bool:
    try:
        body = httpx.get(f"{server.url}/api/v1/system/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(body, dict) and (body.get("poller") or {}).get("state") == "running"


def measure(server: ServerProcess, label: str, send: Callable[[int], httpx.Response], warmup: int,
            requests: int, profile_dir: Path | None = None, data: Path | None = None,
            expected: int | None = None) -> dict[str, Any]:
    for i in range(warmup):
        r = send(i)
        if r.status_code >= 400 and r.status_code != expected:
            raise RuntimeError(f"{label}: {r.status_code} {r.text[:300]}")
    spy = None
    if profile_dir is not None:  # sampling profiler on the server while the measured requests run
        profile_dir.mkdir(parents=True, exist_ok=True)
        out = profile_dir / (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".txt")
        spy = subprocess.Popen([shutil.which("py-spy", path=os.path.dirname(sys.executable)) or "py-spy", "record", "--pid", str(server.pid), "--format", "raw", "--rate", "250",
                                "--nonblocking", "--gil", "--output", str(out)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    (user, system), wall, load = server.cpu_split(), time.perf_counter(), _load()
    db = database_cpu(data) if data is not None else 0.0
    for i in range(warmup, warmup + requests):
        r = send(i)
        if r.status_code >= 400 and r.status_code != expected:
            raise RuntimeError(f"{label}: {r.status_code} {r.text[:300]}")
    user_end, system_end = server.cpu_split()
    db_ms = 1000 * (database_cpu(data) - db) / requests if data is not None else 0.0
    user_ms, system_ms = 1000 * (user_end - user) / requests, 1000 * (system_end - system) / requests
    cpu_ms = user_ms + system_ms
    wall_ms = 1000 * (time.perf_counter() - wall) / requests
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
    print(f"  {label:<32} {cpu_ms:>7.2f} ms CPU/request (user {user_ms:.2f}, sys {system_ms:.2f})"
          f"   PostgreSQL {db_ms:>5.2f} ms   {wall_ms:>7.2f} ms wall   load {load}", flush=True)
    return {"cpu_ms": cpu_ms, "user_ms": user_ms, "system_ms": system_ms, "db_ms": db_ms, "wall_ms": wall_ms,
            "load": load}


SIGNED_OUT = "GET /sites/{id} signed out"  # answered 401


def endpoints(client: httpx.Client, plant: Plant, dashboard_headers: dict[str, str]) -> dict[str, Callable]:
    terminals = plant.terminals
    site = plant.site_id

    def entry(i: int) -> httpx.Response:
        t = terminals[i % len(terminals)]
        return client.post("/api/v1/production/entry", json={"machine_id": t.machine_id, "good_quantity": 1},
                           headers={**t.operator.headers, "Idempotency-Key": f"cpu-{uuid.uuid4().hex}"})

    def live_line(i: int) -> httpx.Response:
        t = terminals[i % len(terminals)]
        return client.get("/api/v1/production/live", params={"site_id": site, "line_id": t.line_id},
                          headers=t.operator.headers)

    def live_site(i: int) -> httpx.Response:
        return client.get("/api/v1/production/live", params={"site_id": site}, headers=dashboard_headers)

    shift: dict[str, Any] = {}

    def _shift() -> dict[str, Any]:
        if not shift:
            body = live_site(0).json()
            shift.update(next(m["shift"] for m in body["machines"] if m["shift"]), at=body["at"])
        return shift

    def oee(i: int) -> httpx.Response:
        s = _shift()
        return client.get("/api/v1/kpis/oee", headers=dashboard_headers,
                          params={"scope": "site", "id": site, "from": s["starts_at"], "to": s["at"]})

    def rejections(i: int) -> httpx.Response:
        return client.get("/api/v1/rejections", headers=dashboard_headers,
                          params={"shift_instance_id": _shift()["id"]})

    def get_site(i: int) -> httpx.Response:
        return client.get(f"/api/v1/sites/{site}", headers=dashboard_headers)

    def health(i: int) -> httpx.Response:
        return client.get("/api/v1/system/health")

    def signed_out(i: int) -> httpx.Response:  # HTTP, middleware, routing and a problem answer: no thread, no SQL
        return client.get(f"/api/v1/sites/{site}")

    return {"POST entry": entry, "GET live (line)": live_line, "GET live (site)": live_site,
            "GET kpis/oee (site)": oee, "GET rejections": rejections, "GET /sites/{id}": get_site,
            "GET /system/health": health, SIGNED_OUT: signed_out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--terminals", type=int, default=20, help="operators taking turns for the entries")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole list (alternation spreads noise)")
    parser.add_argument("--only", action="append", help="measure only these endpoints (repeatable)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--env", action="append", default=[], help="extra server env VAR=value (repeatable)")
    parser.add_argument("--py-spy", type=Path, metavar="DIR",
                        help="record each endpoint's measured requests with py-spy (raw stacks) into DIR")
    parser.add_argument("--orders", action="store_true",
                        help="then start an order on every machine and measure again (side by side)")
    parser.add_argument("--baseline", type=Path, help="also measure FactoryOS from this source tree (before/after)")
    parser.add_argument("--duties", action="store_true",
                        help="let the servers run the duties (the first started holds them) instead of this script")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    env = dict(kv.split("=", 1) for kv in args.env)
    results: dict[str, list[dict[str, Any]]] = {}
    with contextlib.ExitStack() as stack:
        data = stack.enter_context(scratch_dir("factoryos-cpu-"))
        urls = stack.enter_context(embedded_database(data))
        if not args.duties:
            stack.enter_context(duties_held(urls.app))
        server = ServerProcess(urls.app, data, env=env, workers=args.workers).start()
        servers: list[tuple[str, ServerProcess]] = [("", server)]
        try:
            if args.baseline is not None:
                baseline = Baseline(args.baseline, urls.app, data / "baseline", env=env, workers=args.workers)
                servers.insert(0, (" (baseline)", baseline.start(300)))
            with httpx.Client(base_url=server.url, timeout=60) as client:
                owner = new_company(client, "CPU Works")
                plant = seed_plant(client, owner, machines=args.machines, terminals=args.terminals,
                                   cycle_seconds="0.01")
                viewer = join(client, owner, "read_only", "Wall board")
                clients = [(tag, srv, httpx.Client(base_url=srv.url, timeout=60)) for tag, srv in servers]
                tables = [(tag, srv, endpoints(c, plant, viewer.headers)) for tag, srv, c in clients]
                settle([srv for _tag, srv in servers], args.duties)
                modes = ["", " +orders"] if args.orders else [""]
                for mode in modes:
                    if mode:
                        started = start_orders(client, plant)
                        print(f"orders running on {len(started)} machines", flush=True)
                    for r in range(args.rounds):
                        print(f"round {r + 1}/{args.rounds} ({args.machines} machines){mode}", flush=True)
                        for label in tables[0][2]:
                            if args.only and label not in args.only:
                                continue
                            # Side by side: the same neighbours for both; which goes first alternates by
                            # round, as the second pays for the database's after-work of the first
                            # (autovacuum after its inserts, say).
                            for tag, srv, table in (tables if r % 2 == 0 else tables[::-1]):
                                results.setdefault(label + mode + tag, []).append(
                                    measure(srv, label + mode + tag, table[label], args.warmup, args.requests,
                                            args.py_spy, data, 401 if label == SIGNED_OUT else None))
                for _tag, _srv, c in clients:
                    c.close()
        finally:
            for _tag, srv in servers:
                srv.stop()
    if args.rounds > 1:
        print("\nminimum over rounds (the least disturbed):")
        for label, runs in results.items():
            print(f"  {label:<32} {min(r['cpu_ms'] for r in runs):>7.2f} ms CPU/request")
    if args.baseline is not None:
        print("\nbaseline → this tree, same run (minimum over rounds):")
        for label, runs in results.items():
            before = results.get(label + " (baseline)")
            if before is None:
                continue
            a, b = min(r["cpu_ms"] for r in before), min(r["cpu_ms"] for r in runs)
            da, db = min(r["db_ms"] for r in before), min(r["db_ms"] for r in runs)
            print(f"  {label:<32} {a:>7.2f} → {b:>7.2f} ms CPU/request  ({100 * (b - a) / a:+.1f} %)"
                  f"   PostgreSQL {da:.2f} → {db:.2f} ms")
        # Each round measures both one after the other: their ratio sees the same neighbours, where
        # the minima may come from different moments of a busy host.
        print("\nthis tree / baseline, per round (median; the rounds' ratios):")
        for label, runs in results.items():
            before = results.get(label + " (baseline)")
            if before is None:
                continue
            ratios = sorted(r["cpu_ms"] / b["cpu_ms"] for r, b in zip(runs, before, strict=True) if b["cpu_ms"] > 0)
            if ratios:
                print(f"  {label:<32} {statistics.median(ratios):.3f}   ({' '.join(f'{x:.2f}' for x in ratios)})")
    if args.orders:
        print("\nwithout → with orders running (minimum over rounds):")
        for label, runs in results.items():
            with_orders = results.get(label + " +orders")
            if label.endswith(" +orders") or not with_orders:
                continue
            a, b = min(r["cpu_ms"] for r in runs), min(r["cpu_ms"] for r in with_orders)
            print(f"  {label:<24} {a:>7.2f} → {b:>7.2f} ms CPU/request  ({100 * (b - a) / a:+.1f} %)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
