"""Fault drill: two site edges, a broker, two ingest processes; kill one ingest, then the broker.

A company with two sites, `--machines` simulated Modbus PLCs split between them, one registered
site edge per site (in this process, polling its site's PLCs, spooling on disk), Mosquitto (TLS,
MQTT 5, password and ACL files written from the registry, persistence on) and two `factoryos
ingest` processes sharing one subscription. While the PLCs count for `--seconds`, one ingest
process gets SIGKILL and stays down `--down` s (then comes back with its client id: its session
kept its share), later the broker is stopped for `--down` s (the edges spool). At the end the
PLCs are frozen and the stored totals (minute buckets, read behind the app's back) must equal
what every PLC made since its first reading: nothing lost, nothing doubled. Each machine's stored
state intervals must be the timeline its edge published (the two ingest processes may store one
machine's changes out of order, and a killed one's unacknowledged changes come again later).

Run: python -m scripts.drills.edge_ingest [--machines 200] [--seconds 120] [--down 30] [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, pool, text

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import StateChange
from factoryos.connectivity.machine_ref import parse_poll_id
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.simulator import SIM_STATUS_MAP, Simulator
from factoryos.db.engine import DatabaseUrls, make_engine
from factoryos.db.tenant import tenant_transaction
from factoryos.edge.edge_models import EdgeConfigOut
from factoryos.edge.registry import broker_files, edges_in_force
from factoryos.edge.runtime import EdgeRuntime
from factoryos.edge.settings import EdgeFile, EdgeSettings
from scripts.drills.plant import _ok, new_company
from scripts.drills.stack import REPO_ROOT, ServerProcess, embedded_database, free_port, scratch_dir, superuser_url
from tests.edge.broker import INGEST_PASSWORD, INGEST_USER, EdgeBroker

SPEED = 4.0
TICK = 0.25
POLL_INTERVAL = 0.5
SIM_MAPPING = {"codes": {str(int(c)): s.value for c, s in SIM_STATUS_MAP.codes.items()}, "default": "unplanned_stop"}


@dataclass
class Outcome:
    machines: int
    down_seconds: float
    made: dict[str, tuple[int, int]] = field(default_factory=dict)
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)
    counting_seconds: float = 0.0
    settle_seconds: float = 0.0
    spooled_peak: int = 0
    published: dict[str, set[Change]] = field(default_factory=dict)  # state changes the edges sent
    timelines: dict[str, list[Span]] = field(default_factory=dict)  # stored state intervals

    @property
    def mismatches(self) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
        return {m: (made, self.stored.get(m, (0, 0))) for m, made in self.made.items()
                if self.stored.get(m, (0, 0)) != made}

    @property
    def state_mismatches(self) -> dict[str, tuple[list[Span], list[Span]]]:
        """Machines whose stored intervals are not the timeline their published changes make."""
        out = {}
        for m in set(self.published) | set(self.timelines):
            expected = timeline(self.published.get(m, set()))
            if self.timelines.get(m, []) != expected:
                out[m] = (expected, self.timelines.get(m, []))
        return out

    @property
    def state_changes(self) -> int:
        return sum(map(len, self.published.values()))

    @property
    def exact(self) -> bool:
        return bool(self.made) and not self.mismatches and self.state_changes > 0 and not self.state_mismatches

    def summary(self) -> str:
        made = sum(g for g, _ in self.made.values()), sum(r for _, r in self.made.values())
        stored = sum(g for g, _ in self.stored.values()), sum(r for _, r in self.stored.values())
        return (f"{self.machines} machines, 2 edges, 2 ingest processes, {self.counting_seconds:.0f} s counting; "
                f"one ingest killed and the broker stopped for {self.down_seconds:.0f} s each "
                f"(edge spool peak {self.spooled_peak} events): PLCs made {made[0]} good + {made[1]} reject, "
                f"stored {stored[0]} + {stored[1]}; {len(self.mismatches)} machines differ; "
                f"{self.state_changes} state changes published, "
                f"{sum(len(timeline(c)) for c in self.published.values())} intervals expected, "
                f"{sum(map(len, self.timelines.values()))} stored, {len(self.state_mismatches)} machines' timelines "
                f"differ; settled in {self.settle_seconds:.1f} s → {'EXACT' if self.exact else 'FAILED'}")


Change = tuple[str, int | None, datetime]  # state, raw code, at
Span = tuple[str, int | None, datetime, datetime | None]  # state, raw code, start, end


def timeline(changes: set[Change]) -> list[Span]:
    """The intervals a machine's changes make in time order: a stretch of one state and code each."""
    out: list[Span] = []
    for state, code, at in sorted(changes, key=lambda c: c[2]):
        if out and out[-1][:2] == (state, code):
            continue
        if out:
            out[-1] = (*out[-1][:3], at)
        out.append((state, code, at, None))
    return out


def _recording(write: Any, published: dict[str, set[Change]]) -> Any:
    """The edge publisher's `write`, noting each state change it is given (a retry notes it again: a set)."""
    async def write_and_note(events: Any) -> None:
        for e in events:
            ref = parse_poll_id(e.machine_id) if isinstance(e, StateChange) else None
            if ref is not None:
                published.setdefault(str(ref[1]), set()).add((e.state.value, e.raw_code, e.at.astimezone(UTC)))
        await write(events)

    return write_and_note


class IngestProcess:
    def __init__(self, app_url: str, broker: EdgeBroker, client_id: str, log_path: Path,
                 share: str = "factoryos-ingest") -> None:
        self.cmd = [sys.executable, "-c", "from cli.main import main; main()", "ingest", "--broker", broker.url,
                    "--ca-certificate", str(broker.ca), "--client-id", client_id, "--share", share]
        self.env = {**os.environ, "FACTORYOS_DATABASE_URL": app_url, "FACTORYOS_INGEST_PASSWORD": INGEST_PASSWORD,
                    "FACTORYOS_LOG_LEVEL": "warning", "FACTORYOS_DATA_DIR": str(log_path.parent / client_id)}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _stored(urls: DatabaseUrls, database: str, tenant_id: str) -> dict[str, tuple[int, int]]:
    engine = create_engine(superuser_url(urls, database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select machine_id::text, sum(good), sum(reject) from machine_count_buckets "
                                     "where tenant_id = :t group by machine_id"), {"t": tenant_id}).all()
    finally:
        engine.dispose()
    return {m: (int(g), int(r)) for m, g, r in rows}


def _timelines(urls: DatabaseUrls, database: str, tenant_id: str) -> dict[str, list[Span]]:
    engine = create_engine(superuser_url(urls, database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select machine_id::text, state, raw_code, started_at, ended_at "
                                     "from machine_state_intervals where tenant_id = :t "
                                     "order by machine_id, started_at"), {"t": tenant_id}).all()
    finally:
        engine.dispose()
    out: dict[str, list[Span]] = {}
    for m, state, code, start, end in rows:
        out.setdefault(m, []).append((state, code, start, end))
    return out


def _edge(server_url: str, broker: EdgeBroker, token: str, data_dir: Path) -> EdgeRuntime:
    settings = EdgeSettings(EdgeFile.model_validate({
        "edge": {"token": token, "server": server_url, "data_dir": str(data_dir), "reload_seconds": 5},
        "broker": {"url": broker.url, "ca_certificate": str(broker.ca), "timeout": 5},
    }))

    async def fetch() -> EdgeConfigOut:
        async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
            r = await client.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return EdgeConfigOut.model_validate(r.json())

    return EdgeRuntime(settings, fetch, poller_settings=PollerSettings(coalesce_window=0.01),
                       backoff=Backoff(0.2, 2.0))


async def run_drill(urls: DatabaseUrls, data_dir: Path, *, machines: int = 200, seconds: float = 120.0,
                    down: float = 30.0, database: str = "factoryos", log: Any = print) -> Outcome:
    outcome = Outcome(machines, down)
    sim = Simulator(machines, protocol="modbus", seed=20, modbus_port=free_port(), tick=None, id_prefix="EI")
    server = ServerProcess(urls.app, data_dir, env={"FACTORYOS_POLLER": "0"})
    broker = EdgeBroker(data_dir / "broker")
    ingests = [IngestProcess(urls.app, broker, f"drill-ingest-{i}", data_dir / f"ingest-{i}.log") for i in range(2)]
    edges: list[EdgeRuntime] = []
    await sim.start()
    try:
        await asyncio.to_thread(server.start)
        with httpx.Client(base_url=server.url, timeout=30) as sync:
            owner = new_company(sync, "Edge Ingest Drill")
        h = owner.headers
        ids: dict[str, str] = {}
        tokens: list[str] = []
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            sites = [_ok(await client.post("/api/v1/sites", json={
                "name": f"Plant {n}", "code": f"S-{uuid.uuid4().hex[:6]}", "timezone": "UTC"}, headers=h))
                for n in (1, 2)]
            for n, site in enumerate(sites):  # the edges first: the central poller never takes these sites
                tokens.append(_ok(await client.post("/api/v1/edges", json={"site_id": site["id"], "name": f"Edge {n}"},
                                                    headers=h))["token"])
            configs = sim.machine_configs(poll_interval=POLL_INTERVAL)
            for index, (sim_machine, config) in enumerate(zip(sim.machines, configs, strict=True)):
                made = _ok(await client.post("/api/v1/machines", json={
                    "site_id": sites[index % 2]["id"], "name": f"Press {sim_machine.machine_id}",
                    "code": sim_machine.machine_id, "status_mapping": SIM_MAPPING,
                    "ideal_cycle_seconds": f"{sim_machine.ideal_cycle_time / SPEED:.6f}"}, headers=h))
                ids[sim_machine.machine_id] = made["id"]
                _ok(await client.put(f"/api/v1/machines/{made['id']}/connection", json={
                    "protocol": config.protocol, "poll_interval": POLL_INTERVAL,
                    "endpoint": config.endpoint.model_dump(mode="json", exclude_none=True),
                    "signals": config.signals.model_dump(mode="json", exclude_none=True)}, headers=h), 200)
        engine = make_engine(urls.app, pool_size=1)
        try:
            with tenant_transaction(engine, uuid.UUID(owner.tenant_id)) as conn:
                rows = edges_in_force(conn, uuid.UUID(owner.tenant_id))
        finally:
            engine.dispose()
        broker.write_files(*broker_files(rows, {INGEST_USER: INGEST_PASSWORD}))
        broker.start()
        for ingest in ingests:
            ingest.start()
        edges = [_edge(server.url, broker, token, data_dir / f"edge-{n}") for n, token in enumerate(tokens)]
        for edge in edges:
            edge.publisher.write = _recording(edge.publisher.write, outcome.published)  # type: ignore[method-assign]
            await edge.start()
        deadline = time.monotonic() + 120
        while not all(s.good_raw is not None for e in edges if e.poller for s in e.poller.statuses()):
            if time.monotonic() > deadline:
                raise RuntimeError("the edges never read every PLC")
            await asyncio.sleep(0.5)
        baseline = {m.machine_id: (m.good, m.reject) for m in sim.machines}
        log(f"{machines} machines read by 2 edges; counting for {seconds:.0f} s")

        started = time.monotonic()

        async def faults() -> None:
            await asyncio.sleep(seconds / 4)
            ingests[0].kill9()
            log(f"kill -9 of ingest 0 at {time.monotonic() - started:.0f} s; down for {down:.0f} s")
            await asyncio.sleep(down)
            ingests[0].start()
            await asyncio.sleep(seconds / 4)
            await asyncio.to_thread(broker.stop)
            log(f"broker stopped at {time.monotonic() - started:.0f} s; down for {down:.0f} s")
            await asyncio.sleep(down)
            await asyncio.to_thread(broker.start)

        chaos = asyncio.create_task(faults())
        while time.monotonic() - started < seconds or not chaos.done():
            await asyncio.sleep(TICK)
            await sim.advance(TICK * SPEED)
            outcome.spooled_peak = max(outcome.spooled_peak, sum(len(e.forwarder.spool) for e in edges
                                                                 if e.forwarder))
        await chaos
        outcome.counting_seconds = time.monotonic() - started
        outcome.made = {ids[m.machine_id]: (m.good - baseline[m.machine_id][0], m.reject - baseline[m.machine_id][1])
                        for m in sim.machines}
        await asyncio.sleep(2 * POLL_INTERVAL)
        for edge in edges:
            assert edge.poller is not None
            edge.poller.flush()
        settle = time.monotonic()
        last: dict[str, tuple[int, int]] | None = None
        stable_since = time.monotonic()
        while time.monotonic() - settle < 90:
            await asyncio.sleep(1.0)
            stored = await asyncio.to_thread(_stored, urls, database, owner.tenant_id)
            outcome.timelines = await asyncio.to_thread(_timelines, urls, database, owner.tenant_id)
            if stored != last:
                last, stable_since = stored, time.monotonic()
            if stored == outcome.made and not outcome.state_mismatches or time.monotonic() - stable_since > 20:
                break
        outcome.stored = last or {}
        outcome.settle_seconds = time.monotonic() - settle
    finally:
        for edge in edges:
            await edge.stop()
        for ingest in ingests:
            await asyncio.to_thread(ingest.stop)
        broker.stop()
        await asyncio.to_thread(server.stop)
        await sim.stop()
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the PLCs count")
    parser.add_argument("--down", type=float, default=30.0, help="seconds the ingest process and the broker stay down")
    parser.add_argument("--short", action="store_true", help="CI size: 20 machines, 24 s, 5 s down")
    args = parser.parse_args()
    if args.short:
        args.machines, args.seconds, args.down = 20, 24.0, 5.0
    with scratch_dir("factoryos-edge-ingest-") as data, embedded_database(data) as urls:
        began = time.perf_counter()
        outcome = asyncio.run(run_drill(urls, data, machines=args.machines, seconds=args.seconds, down=args.down))
        print(outcome.summary())
        print(f"drill took {time.perf_counter() - began:.0f} s")
        for mid, (made, stored) in list(outcome.mismatches.items())[:10]:
            print(f"  machine {mid}: PLCs made {made}, stored {stored}")
        for mid, (expected, intervals) in list(outcome.state_mismatches.items())[:5]:
            print(f"  machine {mid}: published timeline {expected}\n    stored {intervals}")
    raise SystemExit(0 if outcome.exact else 1)


if __name__ == "__main__":
    main()
