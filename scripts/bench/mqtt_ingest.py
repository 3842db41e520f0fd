"""Benchmark: events/s from a site edge through Mosquitto into PostgreSQL, 1 vs 2 ingest processes.

An edge's publisher (the real one: Sparkplug B DDATA, QoS 1, batches of 500 events like its
forwarder) sends `--events` count deltas of `--machines` machines to Mosquitto (TLS, MQTT 5); `N`
`factoryos ingest` processes on one shared subscription store them. Rate = events / time from
the first publish until the last event is in the database (counted behind the app's back).
Both runs use the same machine; on a 2-core host the database, the broker, the publisher and
the ingest processes share the cores, so the ratio says what a second process buys *here*.

Run: python -m scripts.bench.mqtt_ingest [--events 20000] [--machines 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, pool, text

from factoryos.connectivity.events import CountDelta
from factoryos.connectivity.machine_ref import poll_id
from factoryos.edge.publisher import BrokerSettings, SparkplugPublisher
from factoryos.edge.registry import broker_files, hash_secret
from scripts.drills.edge_ingest import IngestProcess
from scripts.drills.stack import embedded_database, scratch_dir, superuser_url
from tests.edge.broker import INGEST_PASSWORD, INGEST_USER, EdgeBroker

BATCH = 500


def _seed(superuser: Engine, machines: int, secret: str) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    tenant = uuid.uuid4()
    with superuser.begin() as conn:
        conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Bench Works')"), {"t": tenant})
        site = conn.execute(text("insert into sites (tenant_id, name, code, timezone) values (:t, 'P', 'P', 'UTC') "
                                 "returning id"), {"t": tenant}).scalar_one()
        ids = [conn.execute(text("insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, "
                                 "status_mapping) values (:t, :s, 'Press', :c, 1, cast(:m as jsonb)) returning id"),
                            {"t": tenant, "s": site, "c": f"M{i}", "m": json.dumps({"codes": {}})}).scalar_one()
               for i in range(machines)]
        edge = conn.execute(text("insert into edges (tenant_id, site_id, name, secret_hash) values (:t, :s, 'E', :h) "
                                 "returning id"), {"t": tenant, "s": site, "h": hash_secret(secret)}).scalar_one()
    return tenant, edge, ids


def _stored(superuser: Engine, tenant: uuid.UUID) -> int:
    with superuser.connect() as conn:
        return int(conn.execute(text("select count(*) from machine_count_buckets where tenant_id = :t"),
                                {"t": tenant}).scalar_one())


async def _run(app_url: str, superuser: Engine, data: Path, broker: EdgeBroker, processes: int, events: int,
               machines: int) -> float:
    secret = uuid.uuid4().hex
    tenant, edge, ids = _seed(superuser, machines, secret)
    rows = [(tenant, edge, hash_secret(secret))]
    broker.write_files(*broker_files(rows, {INGEST_USER: INGEST_PASSWORD}))
    broker.reload()
    await asyncio.sleep(0.5)
    # A group of its own per run: the previous run's sessions would otherwise keep their share.
    share = f"bench-{uuid.uuid4().hex[:6]}"
    ingests = [IngestProcess(app_url, broker, f"bench-{processes}-{i}-{uuid.uuid4().hex[:4]}",
                             data / f"bench-{processes}-{i}.log", share) for i in range(processes)]
    for ingest in ingests:
        ingest.start()
    publisher = SparkplugPublisher(BrokerSettings.from_url(broker.url, str(edge), secret, ca_certificate=broker.ca,
                                                           timeout=30), str(tenant), str(edge))
    # Distinct minutes per machine, so that each event is its own bucket row (as a long backlog is).
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    made = [CountDelta(machine_id=poll_id(tenant, ids[i % machines]), minute_utc=start + timedelta(minutes=i // machines),
                       good=1, reject=0, key=f"bench-{i}") for i in range(events)]
    try:
        await asyncio.sleep(2.0)  # the ingest processes start and join the group
        began = time.perf_counter()
        for at in range(0, events, BATCH):
            await publisher.write(made[at:at + BATCH])
        deadline = time.monotonic() + 600
        while (stored := await asyncio.to_thread(_stored, superuser, tenant)) < events:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {stored} of {events} events stored; see {data}/bench-*.log")
            await asyncio.sleep(0.2)
        return events / (time.perf_counter() - began)
    finally:
        await publisher.close()
        for ingest in ingests:
            ingest.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--machines", type=int, default=100)
    args = parser.parse_args()
    with scratch_dir("factoryos-bench-mqtt-") as data, embedded_database(data) as urls:
        superuser = create_engine(superuser_url(urls), poolclass=pool.NullPool)
        broker = EdgeBroker(data / "broker")
        broker.write_files(*broker_files([], {INGEST_USER: INGEST_PASSWORD}))
        broker.start()
        try:
            rates = {n: asyncio.run(_run(urls.app, superuser, data, broker, n, args.events, args.machines))
                     for n in (1, 2)}
        finally:
            broker.stop()
            superuser.dispose()
    print(f"{args.events} events of {args.machines} machines, edge → Mosquitto (TLS, MQTT 5) → ingest → "
          f"PostgreSQL on {os.cpu_count()} cores")
    print(f"  1 ingest process : {rates[1]:8.0f} events/s")
    print(f"  2 ingest processes: {rates[2]:8.0f} events/s   (ratio {rates[2] / rates[1]:.2f})")


if __name__ == "__main__":
    main()
