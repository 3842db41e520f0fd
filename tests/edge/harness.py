"""A company with a site edge, wired for real: API (live server), Modbus PLC simulator, Mosquitto
(TLS, MQTT 5, password and ACL files from the registry), the edge runtime and ingest services."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.simulator import Simulator
from factoryos.db.tenant import tenant_transaction
from factoryos.edge.edge_models import EdgeConfigOut
from factoryos.edge.publisher import BrokerSettings
from factoryos.edge.registry import broker_files, edges_in_force
from factoryos.edge.runtime import EdgeRuntime
from factoryos.edge.settings import EdgeFile, EdgeSettings
from factoryos.ingest.service import IngestService
from tests.accounts import Session, new_company
from tests.connectivity.plant_wiring import HAND_SET, SIM_MAPPING, connection_body
from tests.edge.broker import INGEST_PASSWORD, INGEST_USER, EdgeBroker
from tests.production import plant

FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)


@dataclass
class Company:
    owner: Session
    site: dict[str, Any]
    other_site: dict[str, Any]
    machines: list[dict[str, Any]]
    other_machine: dict[str, Any]
    edge: dict[str, Any] = field(default_factory=dict)  # the POST answer: id, secret, token

    @property
    def tenant_id(self) -> uuid.UUID:
        return uuid.UUID(self.owner.tenant_id)

    def poll_id(self, machine: dict[str, Any]) -> str:
        return poll_id(self.tenant_id, uuid.UUID(machine["id"]))


def build_company(http: httpx.Client, machines: int) -> Company:
    owner = new_company(http, timezone="UTC")
    site = plant.site(http, owner, timezone="UTC")
    other = plant.site(http, owner, timezone="UTC")
    made = [plant.machine(http, owner, site["id"], cycle=1, status_mapping=SIM_MAPPING) for _ in range(machines)]
    stray = plant.machine(http, owner, other["id"], cycle=1, status_mapping=SIM_MAPPING)
    return Company(owner, site, other, made, stray)


def register_edge(http: httpx.Client, company: Company, name: str = "Hall edge") -> dict[str, Any]:
    r = http.post("/api/v1/edges", json={"site_id": company.site["id"], "name": name}, headers=company.owner.headers)
    assert r.status_code == 201, r.text
    company.edge = r.json()
    return company.edge


def connect(http: httpx.Client, company: Company, sim: Simulator, poll_interval: float = 0.2) -> None:
    for machine, config in zip(company.machines, sim.machine_configs(), strict=False):
        r = http.put(f"/api/v1/machines/{machine['id']}/connection",
                     json=connection_body(config, poll_interval, HAND_SET), headers=company.owner.headers)
        assert r.status_code == 200, r.text


def write_broker_files(broker: EdgeBroker, engine: Engine, tenants: list[uuid.UUID]) -> None:
    rows = []
    for tenant_id in tenants:
        with tenant_transaction(engine, tenant_id) as conn:
            rows += edges_in_force(conn, tenant_id)
    broker.write_files(*broker_files(rows, {INGEST_USER: INGEST_PASSWORD}))


def edge_runtime(server_url: str, broker: EdgeBroker, token: str, data_dir: Path,
                 reload_seconds: float = 1.0) -> EdgeRuntime:
    settings = EdgeSettings(EdgeFile.model_validate({
        "edge": {"token": token, "server": server_url, "data_dir": str(data_dir), "reload_seconds": reload_seconds},
        "broker": {"url": broker.url, "ca_certificate": str(broker.ca), "timeout": 3},
    }))

    async def fetch() -> EdgeConfigOut:
        async with httpx.AsyncClient(base_url=server_url, timeout=10) as client:
            r = await client.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return EdgeConfigOut.model_validate(r.json())

    return EdgeRuntime(settings, fetch, poller_settings=FAST, backoff=Backoff(0.1, 0.5))


def ingest_broker(broker: EdgeBroker) -> BrokerSettings:
    return BrokerSettings.from_url(broker.url, INGEST_USER, INGEST_PASSWORD, ca_certificate=broker.ca, timeout=3)


@dataclass
class Ingests:
    services: list[IngestService]
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def start_ingests(engine: Engine, broker: EdgeBroker, count: int, share: str) -> Ingests:
    stop = asyncio.Event()
    services = [IngestService(engine, ingest_broker(broker), client_id=f"{share}-{i}", share=share,
                              directory_ttl=0.5) for i in range(count)]
    tasks = [asyncio.create_task(s.run(stop)) for s in services]
    for s in services:
        await asyncio.wait_for(s.connected.wait(), 10)
    return Ingests(services, stop, tasks)


def totals(superuser: Engine, machine_id: str) -> list[int]:
    with superuser.connect() as conn:
        row = conn.execute(text("select coalesce(sum(good), 0), coalesce(sum(reject), 0) from machine_count_buckets "
                                "where machine_id = :m"), {"m": machine_id}).one()
    return [int(row[0]), int(row[1])]


def refusals(superuser: Engine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    with superuser.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "select entity_id, after from audit_log where tenant_id = :t and action = 'ingest_refused' order by seq"),
            {"t": tenant_id}).mappings()]
