"""A company whose machines are wired to simulated PLCs through the real API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.simulator import SIM_STATUS_MAP, Simulator
from tests.accounts import Session, new_company
from tests.production import plant

# The simulated PLCs' status codes, as a machine's status mapping in the API.
SIM_MAPPING = {"codes": {str(int(c)): s.value for c, s in SIM_STATUS_MAP.codes.items()}, "default": "unplanned_stop"}


@dataclass
class Plant:
    owner: Session
    site: dict[str, Any]
    machines: list[dict[str, Any]]

    @property
    def tenant_id(self) -> UUID:
        return UUID(self.owner.tenant_id)

    def poll_id(self, index: int) -> str:
        return poll_id(self.tenant_id, UUID(self.machines[index]["id"]))


def build_plant(http: httpx.Client, machines: int, *, micro_stop_seconds: int = 120) -> Plant:
    """A company with a UTC site, a 24-hour shift running now, and `machines` machines (1 s cycle)."""
    owner = new_company(http)
    site = plant.site(http, owner, timezone="UTC", micro_stop_seconds=micro_stop_seconds)
    began = (datetime.now(UTC) - timedelta(hours=2)).strftime("%H:00")
    plant.shift(http, owner, site["id"], "Round the clock", began, began)
    made = [plant.machine(http, owner, site["id"], cycle=1, status_mapping=SIM_MAPPING) for _ in range(machines)]
    return Plant(owner, site, made)


# Plausibility for tests that set a PLC's counters by hand: a jump of hundreds of parts (or a
# 16-bit counter run up to its limit) between two polls is more than a 1 s machine makes.
HAND_SET = {"factor": 1_000_000}


def connection_body(config: ModbusMachine | OpcUaMachine, poll_interval: float,
                    plausibility: dict[str, Any] | None = None) -> dict[str, Any]:
    signals = config.signals.model_dump(mode="json", exclude_none=True)
    if plausibility is not None:
        signals["plausibility"] = plausibility
    return {
        "protocol": config.protocol,
        "poll_interval": poll_interval,
        "endpoint": config.endpoint.model_dump(mode="json", exclude_none=True),
        "signals": signals,
    }


async def connect(client: httpx.AsyncClient, site: Plant, sim: Simulator, poll_interval: float = 0.2,
                  plausibility: dict[str, Any] | None = None) -> None:
    """Point machine i of the plant at simulated machine i."""
    for machine, config in zip(site.machines, sim.machine_configs(), strict=False):
        r = await client.put(f"/api/v1/machines/{machine['id']}/connection",
                             json=connection_body(config, poll_interval, plausibility), headers=site.owner.headers)
        assert r.status_code == 200, r.text


async def disconnect(client: httpx.AsyncClient, site: Plant) -> None:
    for machine in site.machines:
        await client.delete(f"/api/v1/machines/{machine['id']}/connection", headers=site.owner.headers)


async def live(client: httpx.AsyncClient, site: Plant) -> dict[str, dict[str, Any]]:
    """The live view's rows by machine id."""
    r = await client.get("/api/v1/production/live", params={"site_id": site.site["id"]}, headers=site.owner.headers)
    assert r.status_code == 200, r.text
    return {m["machine_id"]: m for m in r.json()["machines"]}


async def live_until(client: httpx.AsyncClient, site: Plant, check: Any, what: str, timeout: float = 15.0) -> dict:
    """Poll the live view over HTTP until `check(rows)` holds; return the rows."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await live(client, site)
        if check(rows):
            return rows
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {rows}")
        await asyncio.sleep(0.1)
