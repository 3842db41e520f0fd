"""The floor: FactoryOS against a minimal server doing the same essential database work, one run.

The floor is a Starlette app with async handlers on psycopg's async pool (the shape of the
fastest server we would know how to write) that does, for the same requests under the same
RLS and the same app role:

  POST /production/entry  the session lookup (the same live-access query: membership,
                          account, session, site scope), the idempotency row, the entry insert
                          (its start the end of the machine's last entry in the shift), the
                          idempotency response, the audit append with the hash chain (the same
                          pipelined statements as factoryos.audit.writer), commit; in two round
                          trips (pipelined), and without FactoryOS's validation and error paths
  GET /production/live    the session lookup, then the line out of an in-process snapshot of
                          the site renewed every 0.5 s by a background task (the same live
                          view query as FactoryOS)

The JWT is decoded without checking its signature (the floor does not hold the server's key;
FactoryOS verifies a token once per process and then caches it, so in steady state neither
pays for it). The shift instance of a machine is looked up once and kept.

One company is seeded as by api_load (one machine and operator per terminal); then the same
terminal load (an entry and a line's live view every 2 s each) runs against FactoryOS and the
floor in alternating phases (`--rounds` of each, so other load on the shared machine spreads
over both), both with `--workers` processes on the same database, after 5 s of warm-up each
(not measured). Prints both, and the ratio.

`--baseline DIR` adds a third server to the same run: FactoryOS from another source tree (say
`git archive` of the last release, unpacked) on the same database, for before/after figures.

Run: python -m scripts.bench.floor [--terminals 100] [--duration 60] [--rounds 2] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt

from scripts.bench.api_load import Stats, generate, percentile
from scripts.drills.plant import new_company, seed_plant
from scripts.drills.stack import ServerProcess, embedded_database, free_port, scratch_dir

FLOOR_URL_ENV = "FACTORYOS_FLOOR_DATABASE_URL"
SNAPSHOT_SECONDS = 0.5
ENDPOINTS = ("POST entry", "GET live (line)")


def floor_app() -> Any:
    """uvicorn's app factory for the floor server (`--factory`)."""
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy import create_engine
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from factoryos.audit.chain import GENESIS_HASH, canonical_parts
    from factoryos.audit.writer import _ENSURE_HEAD, _PIPELINED_APPEND, AuditEvent, _fields
    from factoryos.db.tenant import tenant_transaction
    from factoryos.identity.access import LIVE_ACCESS
    from factoryos.live.models import LiveQuery
    from factoryos.live.view import live_view

    url = os.environ[FLOOR_URL_ENV]
    compiled = LIVE_ACCESS.compile(dialect=pg_psycopg.dialect())
    access_sql, access_defaults = str(compiled), dict(compiled.params)
    pool = AsyncConnectionPool(url.replace("postgresql+psycopg://", "postgresql://"), min_size=10, max_size=10,
                               open=False, kwargs={"application_name": "factoryos-floor"})
    sync_engine = create_engine(url, pool_size=2)
    instances: dict[UUID, tuple[UUID, datetime]] = {}
    snapshots: dict[tuple[UUID, UUID], dict[UUID | None, bytes]] = {}
    read: dict[tuple[UUID, UUID], float] = {}

    def claims(request: Request) -> tuple[UUID, UUID, UUID]:
        token = request.headers["authorization"].partition(" ")[2]
        c = jwt.decode(token, options={"verify_signature": False})
        return UUID(c["tid"]), UUID(c["sub"]), UUID(c["sid"])

    async def begin_with_access(cur: Any, tenant: UUID, user: UUID, session: UUID) -> None:
        await cur.execute("select set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)",
                          (str(tenant), str(user)))
        await cur.execute(access_sql, {**access_defaults, "tenant": tenant, "user": user, "session": session})

    def check_access(row: Any) -> bool:
        return row is not None and row[3] == "active" and row[5] is None and row[6] > datetime.now(UTC)

    async def instance_of(cur: Any, tenant: UUID, machine: UUID) -> tuple[UUID, datetime]:
        got = instances.get(machine)
        if got is None:  # (in the request's transaction: the tenant is set again right after)
            await cur.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
            await cur.execute("""
                select si.id, si.starts_at from machines m join shift_instances si
                  on si.tenant_id = m.tenant_id and si.site_id = m.site_id
                where m.tenant_id = %s and m.id = %s and si.starts_at <= now() and si.ends_at > now()
                order by si.starts_at desc limit 1""", (tenant, machine))
            row = await cur.fetchone()
            got = instances[machine] = (row[0], row[1])
        return got

    async def post_entry(request: Request) -> Response:
        tenant, user, session = claims(request)
        body = json.loads(await request.body())
        machine = UUID(body["machine_id"])
        key = request.headers["idempotency-key"]
        async with pool.connection() as conn:
            cur = conn.cursor()
            instance, shift_start = await instance_of(cur, tenant, machine)
            access = conn.cursor()
            async with conn.pipeline() as pipe:
                await begin_with_access(access, tenant, user, session)
                await cur.execute("insert into idempotency_keys (tenant_id, key, request_hash, status_code) "
                                  "values (%s, %s, %s, 0) on conflict do nothing", (tenant, key, "h"))
                entry_cur = conn.cursor()
                await entry_cur.execute("""
                    insert into production_entries (tenant_id, machine_id, shift_instance_id, operator_id,
                                                    good_quantity, started_at, ended_at, created_by)
                    select %(t)s, %(m)s, %(i)s, %(u)s, %(g)s,
                           coalesce((select e.ended_at from production_entries e
                                     where e.tenant_id = %(t)s and e.machine_id = %(m)s
                                       and e.started_at >= %(s)s and e.shift_instance_id = %(i)s
                                     order by e.started_at desc limit 1), %(s)s),
                           now(), %(u)s
                    returning *""", {"t": tenant, "m": machine, "i": instance, "u": user, "g": body["good_quantity"],
                                     "s": shift_start})
                await pipe.sync()
                rows = await access.fetchall()
                entry = await entry_cur.fetchone()
            assert entry_cur.description is not None
            if not rows or not check_access(rows[0]) or entry is None:
                await conn.rollback()
                return JSONResponse({"code": "refused"}, status_code=401)
            payload = {d.name: v for d, v in zip(entry_cur.description, entry, strict=True)}
            response = json.loads(json.dumps(payload, default=str))
            row = _fields(AuditEvent(tenant, "create", "production_entry", str(payload["id"]),
                                     user, after=response, user_agent=request.headers.get("user-agent")), None)
            head, mid, tail = canonical_parts(row)
            async with conn.pipeline():
                await cur.execute("update idempotency_keys set status_code = 201, response = %s "
                                  "where tenant_id = %s and key = %s", (Jsonb(response), tenant, key))
                await cur.execute(_ENSURE_HEAD, {"tenant_id": tenant, "genesis": GENESIS_HASH})
                await cur.execute(_PIPELINED_APPEND, {**row, "before": Jsonb(row["before"]),
                                                      "after": Jsonb(row["after"]), "c_head": head, "c_mid": mid,
                                                      "c_tail": tail})
                await conn.commit()
        return JSONResponse(response, status_code=201)

    async def get_live(request: Request) -> Response:
        tenant, user, session = claims(request)
        site = UUID(request.query_params["site_id"])
        line = request.query_params.get("line_id")
        async with pool.connection() as conn:
            cur = conn.cursor()
            async with conn.pipeline() as pipe:
                await begin_with_access(cur, tenant, user, session)
                await pipe.sync()
                rows = await cur.fetchall()
            await conn.commit()
        if not rows or not check_access(rows[0]):
            return JSONResponse({"code": "refused"}, status_code=401)
        key = (tenant, site)
        read[key] = time.monotonic()
        rendered = snapshots.get(key)
        if rendered is None:  # a cold site: computed once by its first reader
            rendered = snapshots[key] = await asyncio.to_thread(compute, key)
        line_id = UUID(line) if line else None
        body = rendered.get(line_id)
        if body is None:
            view = json.loads(rendered[None])
            view["machines"] = [m for m in view["machines"] if m["line_id"] == line]
            body = rendered[line_id] = json.dumps(view).encode()
        return Response(body, media_type="application/json")

    def compute(key: tuple[UUID, UUID]) -> dict[UUID | None, bytes]:
        tenant, site = key
        with tenant_transaction(sync_engine, tenant) as conn:
            view = live_view(conn, tenant, LiveQuery(site_id=site), datetime.now(UTC))
        return {None: view.model_dump_json().encode()}

    async def renew() -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_SECONDS)
            for key, at in list(read.items()):
                if time.monotonic() - at < 10:
                    snapshots[key] = await asyncio.to_thread(compute, key)

    async def lifespan(app: Starlette) -> Any:
        await pool.open()
        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            await pool.close()
            sync_engine.dispose()

    from contextlib import asynccontextmanager

    return Starlette(routes=[Route("/api/v1/production/entry", post_entry, methods=["POST"]),
                             Route("/api/v1/production/live", get_live, methods=["GET"])],
                     lifespan=asynccontextmanager(lifespan))


class FloorProcess:
    def __init__(self, app_url: str, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "scripts.bench.floor:floor_app", "--factory", "--port", str(self.port),
             "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
            env={**os.environ, FLOOR_URL_ENV: app_url})
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("the floor server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Baseline(ServerProcess):
    """FactoryOS from another tree. Its migrations end earlier than the database's, so its health
    check answers 503 (migrations): it is ready when the API answers at all."""

    def __init__(self, tree: Path, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tree = tree.resolve()

    def start(self, timeout: float = 60) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # its own tree as the working directory: its code is imported
                [sys.executable, "-c", "from cli.main import main; main()", "serve", "--workers", str(self.workers)],
                cwd=self.tree, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"baseline exited: {self.log_tail()}")
            try:
                httpx.get(f"{self.url}/api/v1/openapi.json", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"baseline did not start: {self.log_tail()}")


def summary(stats: Stats) -> dict[str, tuple[float, float, float, int]]:
    out = {}
    for name in ENDPOINTS:
        v = sorted(stats.latencies.get(name, []))
        out[name] = (percentile(v, 0.5) * 1000, percentile(v, 0.95) * 1000, percentile(v, 0.99) * 1000, len(v))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--terminals", type=int, default=100)
    ap.add_argument("--duration", type=float, default=60, help="seconds of load per server (split over rounds)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating phases per server")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    ap.add_argument("--baseline", type=Path, help="also run FactoryOS from this source tree (before/after)")
    args = ap.parse_args()

    with scratch_dir("factoryos-floor-") as data, embedded_database(data) as urls:
        server = ServerProcess(urls.app, data, workers=args.workers).start(timeout=300)  # a busy box starts slowly
        floor = baseline = None
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                owner = new_company(client, "Floor Works")
                plant = seed_plant(client, owner, machines=args.terminals, terminals=args.terminals,
                                   cycle_seconds="0.01")
            floor = FloorProcess(urls.app, args.workers)
            targets = [("FactoryOS", server.url), ("floor", floor.url)]
            if args.baseline is not None:
                baseline = Baseline(args.baseline, urls.app, data / "baseline", workers=args.workers).start(300)
                targets.insert(0, ("baseline", baseline.url))
            for _name, url in targets:  # warm up, not measured: pools filled, shift instances found, code loaded
                asyncio.run(generate(url, plant, [], 5, Stats()))
            stats: dict[str, Stats] = defaultdict(Stats)
            errors: dict[str, int] = defaultdict(int)
            loads = []
            phase = args.duration / args.rounds
            for _ in range(args.rounds):
                for name, url in targets:
                    asyncio.run(generate(url, plant, [], phase, stats[name]))
                    loads.append(os.getloadavg()[0])
            for name in stats:
                errors[name] = sum(stats[name].errors.values())
        finally:
            if floor is not None:
                floor.stop()
            if baseline is not None:
                baseline.stop()
            server.stop()
    f, b = summary(stats["FactoryOS"]), summary(stats["floor"])
    print(f"\n{args.terminals} terminals (an entry and a line's live view every 2 s each), {args.workers} workers each, "
          f"{args.duration:.0f} s per server in {args.rounds} alternating phases; load average (1 min) after each "
          f"phase: {', '.join(f'{x:.2f}' for x in loads)}; errors FactoryOS {errors['FactoryOS']}, "
          f"floor {errors['floor']}, baseline {errors.get('baseline', '-')}")
    print("| | FactoryOS p50 / p95 / p99 ms | floor p50 / p95 / p99 ms | ratio |\n|---|---|---|---|")
    for name in ENDPOINTS:
        x, y = f[name], b[name]
        print(f"| {name} | {x[0]:.1f} / {x[1]:.1f} / {x[2]:.1f} | {y[0]:.1f} / {y[1]:.1f} / {y[2]:.1f} | "
              f"{x[0] / y[0]:.1f}× / {x[1] / y[1]:.1f}× / {x[2] / y[2]:.1f}× |")
    if "baseline" in stats:
        z = summary(stats["baseline"])
        print("\nbaseline (the other tree), same run:")
        for name in ENDPOINTS:
            x, y = z[name], b[name]
            print(f"| {name} | {x[0]:.1f} / {x[1]:.1f} / {x[2]:.1f} | {y[0]:.1f} / {y[1]:.1f} / {y[2]:.1f} | "
                  f"{x[0] / y[0]:.1f}× / {x[1] / y[1]:.1f}× / {x[2] / y[2]:.1f}× |")
    for name in stats:
        for kind, n in stats[name].errors.most_common(5):
            print(f"  {name} error ×{n}: {kind}")


if __name__ == "__main__":
    main()
