"""Fault drill: kill -9 the server while simulated machines count; compare with the PLCs' tallies.

`--machines` simulated PLCs (half OPC-UA, half Modbus TCP, some with 16-bit counters that
wrap) count parts on loopback, polled by `factoryos serve`'s own poller. While they count,
the server process gets SIGKILL `--kills` times and stays down `--down` seconds each time
(the PLCs go on counting), then restarts on the same data directory. PostgreSQL keeps
running, as it would behind a crashed API container.

The PLCs are frozen until every machine has had its first good poll (the baseline), then
count for `--seconds`; at the end they are frozen again and the drill waits for the stored
totals to settle. Per machine, the parts stored (sum of the minute buckets, read behind the
app's back) must equal what the simulator made since the baseline, and no counter anomaly
may have been raised: nothing lost, nothing invented.

Run: python -m scripts.drills.kill9_counting [--machines 50] [--seconds 60] [--kills 2] [--down 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, pool, text

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.simulator import SIM_STATUS_MAP, Simulator
from factoryos.db.engine import DatabaseUrls
from scripts.drills.plant import _ok, new_company
from scripts.drills.stack import ServerProcess, embedded_database, free_port, scratch_dir, superuser_url

SPEED = 4.0  # simulated seconds per real second: a few parts per machine and second
TICK = 0.25
POLL_INTERVAL = 0.5
SIM_MAPPING = {"codes": {str(int(c)): s.value for c, s in SIM_STATUS_MAP.codes.items()},
               "default": "unplanned_stop"}


@dataclass
class Outcome:
    machines: int
    kills: int
    down_seconds: float
    made: dict[str, tuple[int, int]] = field(default_factory=dict)  # machine id → (good, reject) by the PLC
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)
    anomalies: int = 0
    counting_seconds: float = 0.0
    settle_seconds: float = 0.0

    @property
    def mismatches(self) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
        return {m: (made, self.stored.get(m, (0, 0))) for m, made in self.made.items()
                if self.stored.get(m, (0, 0)) != made}

    @property
    def exact(self) -> bool:
        return not self.mismatches and self.anomalies == 0 and bool(self.made)

    def totals(self) -> tuple[int, int, int, int]:
        made_g = sum(g for g, _ in self.made.values())
        made_r = sum(r for _, r in self.made.values())
        stored_g = sum(g for g, _ in self.stored.values())
        stored_r = sum(r for _, r in self.stored.values())
        return made_g, made_r, stored_g, stored_r

    def summary(self) -> str:
        made_g, made_r, stored_g, stored_r = self.totals()
        return (f"{self.machines} machines counted {self.counting_seconds:.0f} s with {self.kills} kill -9 "
                f"({self.down_seconds:.0f} s down each): PLCs made {made_g} good + {made_r} reject, "
                f"stored {stored_g} good + {stored_r} reject; {len(self.mismatches)} machines differ, "
                f"{self.anomalies} anomalies; settled in {self.settle_seconds:.1f} s → "
                f"{'EXACT' if self.exact else 'FAILED'}")


def _connection_body(config: ModbusMachine | OpcUaMachine) -> dict[str, Any]:
    return {"protocol": config.protocol, "poll_interval": POLL_INTERVAL,
            "endpoint": config.endpoint.model_dump(mode="json", exclude_none=True),
            "signals": config.signals.model_dump(mode="json", exclude_none=True)}


def _stored(urls: DatabaseUrls, database: str, tenant_id: str) -> tuple[dict[str, tuple[int, int]], int]:
    engine = create_engine(superuser_url(urls, database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "select machine_id::text, sum(good), sum(reject) from machine_count_buckets "
                "where tenant_id = :t group by machine_id"), {"t": tenant_id}).all()
            anomalies = conn.execute(text("select count(*) from counter_anomalies where tenant_id = :t"),
                                     {"t": tenant_id}).scalar_one()
    finally:
        engine.dispose()
    return {m: (int(g), int(r)) for m, g, r in rows}, int(anomalies)


async def _wait_all_polled(client: httpx.AsyncClient, headers: dict[str, str], ids: list[str],
                           timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(ids)
    while waiting:
        for mid in list(waiting):
            r = await client.get(f"/api/v1/machines/{mid}/connection", headers=headers)
            if r.status_code == 200 and (r.json().get("health") or {}).get("last_ok"):
                waiting.discard(mid)
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"{len(waiting)} machines never had a good poll within {timeout:.0f} s")
        if waiting:
            await asyncio.sleep(0.5)


async def run_drill(urls: DatabaseUrls, data_dir, *, machines: int = 50, seconds: float = 60.0, kills: int = 2,
                    down: float = 10.0, database: str = "factoryos", log=print) -> Outcome:
    outcome = Outcome(machines, kills, down)
    sim = Simulator(machines, protocol="both", seed=14, opcua_port=free_port(), modbus_port=free_port(),
                    tick=None, id_prefix="K9")
    server = ServerProcess(urls.app, data_dir, env={"FACTORYOS_POLLER_RELOAD_SECONDS": "1"})
    await sim.start()
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            owner = await asyncio.to_thread(_owner, server.url)
            h = owner.headers
            site = _ok(await client.post("/api/v1/sites", json={
                "name": "Drill plant", "code": f"S-{uuid.uuid4().hex[:6]}", "timezone": "UTC"}, headers=h))
            _ok(await client.post("/api/v1/shifts", json={"site_id": site["id"], "name": "Day and night",
                                                           "start": "00:00", "end": "00:00"}, headers=h))
            ids: dict[str, str] = {}  # simulator machine id → FactoryOS machine id
            for sim_machine, config in zip(sim.machines, sim.machine_configs(poll_interval=POLL_INTERVAL),
                                           strict=True):
                made = _ok(await client.post("/api/v1/machines", json={
                    "site_id": site["id"], "name": f"Press {sim_machine.machine_id}",
                    "code": sim_machine.machine_id, "status_mapping": SIM_MAPPING,
                    # The ideal cycle in real seconds: the simulator runs SPEED times faster.
                    "ideal_cycle_seconds": f"{sim_machine.ideal_cycle_time / SPEED:.6f}"}, headers=h))
                ids[sim_machine.machine_id] = made["id"]
                _ok(await client.put(f"/api/v1/machines/{made['id']}/connection", json=_connection_body(config),
                                     headers=h), 200)
            await _wait_all_polled(client, h, list(ids.values()))
        baseline = {m.machine_id: (m.good, m.reject) for m in sim.machines}
        log(f"{machines} machines polled once; counting for {seconds:.0f} s with {kills} kill -9")

        started = time.monotonic()
        kill_times = [started + seconds * (k + 1) / (kills + 1) for k in range(kills)]

        async def kill_and_restart() -> None:
            for at in kill_times:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                server.kill9()
                log(f"kill -9 at {time.monotonic() - started:.0f} s; down for {down:.0f} s")
                await asyncio.sleep(down)
                await asyncio.to_thread(server.start)

        killer = asyncio.create_task(kill_and_restart())
        while time.monotonic() - started < seconds or not killer.done():
            await asyncio.sleep(TICK)
            await sim.advance(TICK * SPEED)
        await killer
        outcome.counting_seconds = time.monotonic() - started
        outcome.made = {ids[m.machine_id]: (m.good - baseline[m.machine_id][0], m.reject - baseline[m.machine_id][1])
                        for m in sim.machines}

        # PLCs frozen: wait for the last partial minute to reach the database, then read it back.
        settle = time.monotonic()
        last: dict[str, tuple[int, int]] | None = None
        stable_since = time.monotonic()
        while time.monotonic() - settle < 60:
            await asyncio.sleep(1.0)
            stored, outcome.anomalies = await asyncio.to_thread(_stored, urls, database, owner.tenant_id)
            if stored != last:
                last, stable_since = stored, time.monotonic()
            if stored == outcome.made or time.monotonic() - stable_since > 12:
                break
        outcome.stored = last or {}
        outcome.settle_seconds = time.monotonic() - settle
    finally:
        await asyncio.to_thread(server.stop)
        await sim.stop()
    return outcome


def _owner(url: str):
    with httpx.Client(base_url=url, timeout=30) as client:
        return new_company(client, "Kill Nine Counting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the PLCs count")
    parser.add_argument("--kills", type=int, default=2, help="how many times to kill -9 the server")
    parser.add_argument("--down", type=float, default=10.0, help="seconds the server stays down each time")
    args = parser.parse_args()
    with scratch_dir("factoryos-kill9-counting-") as data, embedded_database(data) as urls:
        began = time.perf_counter()
        outcome = asyncio.run(run_drill(urls, data, machines=args.machines, seconds=args.seconds,
                                        kills=args.kills, down=args.down))
        print(outcome.summary())
        print(f"drill took {time.perf_counter() - began:.0f} s")
        for mid, (made, stored) in list(outcome.mismatches.items())[:10]:
            print(f"  machine {mid}: PLC made {made}, stored {stored}")
    raise SystemExit(0 if outcome.exact else 1)


if __name__ == "__main__":
    main()
