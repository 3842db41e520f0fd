"""Orders run on machines wired to a real Modbus simulator: the good parts are what the poller
reads from the PLC's counters, for materials tests that trace what the machines made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from tests.accounts import Session
from tests.connectivity.conftest import runtime  # noqa: F401  (fixture, used by name)
from tests.connectivity.plant_wiring import SIM_MAPPING, Plant
from tests.connectivity.support import eventually
from tests.orders import order_support
from tests.production import plant
from tests.production.spec_check import SpecChecker

# Seconds per part of the machines and of the products' routings: at this rate the dozen parts a
# test adds at once are plausible even between two polls a few milliseconds apart (a late poll
# and the next one on the grid), so they are stored as production, never as counter anomalies.
FAST_CYCLE = "0.001"


@pytest.fixture
async def plc_client(live_server, spec: SpecChecker) -> AsyncIterator[httpx.AsyncClient]:
    """An async client (the simulator and the poller share the test's event loop, so nothing may
    block it while they run), every JSON answer checked against the OpenAPI document."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        spec.check(response)

    async with httpx.AsyncClient(base_url=live_server.url, timeout=30, event_hooks={"response": [check]}) as c:
        yield c


def shop(api: httpx.Client, owner: Session, machines: int) -> Plant:
    """A UTC site running a 24-hour shift now, the owner its operator, and fast machines whose
    status codes are the simulated PLCs'."""
    site = plant.site(api, owner, timezone="UTC")
    began = (datetime.now(UTC) - timedelta(hours=2)).strftime("%H:00")
    plant.shift(api, owner, site["id"], "Round the clock", began, began)
    plant.operator(api, owner, site["id"], owner.user_id)
    return Plant(owner, site, [plant.machine(api, owner, site["id"], cycle=FAST_CYCLE, status_mapping=SIM_MAPPING)
                               for _ in range(machines)])


def routed_product(app_engine: Engine, owner: Session, machine: dict[str, Any], number: str,
                   name: str) -> dict[str, Any]:
    """A product made in one operation on `machine` at the fast rate."""
    return order_support.product(app_engine, owner.tenant_id, [(10, "Make", [(machine["id"], FAST_CYCLE, 1)])],
                                 number=number, name=name)


@dataclass
class Line:
    """The plant's machines, each wired to the simulated PLC of the same index, and the poller."""

    site: Plant
    sim: Simulator
    runtime: PollerRuntime
    client: httpx.AsyncClient
    superuser_engine: Engine

    async def read(self, index: int) -> None:
        """Wait until the poller has read the PLC's current counters."""
        poller, plc, pid = self.runtime.poller, self.sim.machines[index], self.site.poll_id(index)
        assert poller is not None
        await eventually(lambda: pid in poller.machines and (poller.status(pid).good_raw, poller.status(pid).reject_raw)
                         == (plc.good_counter, plc.reject_counter), what=f"machine {index}'s counters read")

    async def make(self, index: int, good: int, reject: int = 0) -> None:
        """The PLC counts parts; wait until they are stored."""
        plc = self.sim.machines[index]
        await self.sim.set_counters(plc.machine_id, good=plc.good + good, reject=plc.reject + reject)
        await self.read(index)
        assert self.runtime.poller is not None and self.runtime.forwarder is not None
        self.runtime.poller.flush()
        assert await self.runtime.forwarder.wait_delivered(10)

    async def start(self, index: int, operation_id: str) -> dict[str, Any]:
        """Start the operation on the machine, backdated two minutes: PLC minutes belong to the run
        holding their midpoint (minute + 30 s), so the minute being counted now is the run's."""
        m = self.site.machines[index]
        r = await self.client.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": operation_id},
                                   headers=self.site.owner.headers)
        assert r.status_code == 201, r.text
        with self.superuser_engine.begin() as conn:
            conn.execute(text("update operation_runs set started_at = started_at - interval '2 minutes' "
                              "where id = :r"), {"r": r.json()["run"]["id"]})
        await self.runtime.reload()  # the poller bounds the counts by the run's rate from now on
        return r.json()["run"]

    async def complete(self, index: int) -> dict[str, Any]:
        """Complete the running operation with the PLC's counts (no figures typed in), once the
        midpoint of the last minute counted has passed: ended earlier, that minute would not be its."""
        m = self.site.machines[index]
        with self.superuser_engine.connect() as conn:
            last = conn.execute(text("select max(minute) from machine_count_buckets where machine_id = :m"),
                                {"m": m["id"]}).scalar_one()
        assert last is not None, "the PLC counted nothing on this machine"
        await asyncio.sleep(max(0.0, (last + timedelta(seconds=30.5) - datetime.now(UTC)).total_seconds()))
        r = await self.client.post(f"/api/v1/machines/{m['id']}/run/complete", json={},
                                   headers=self.site.owner.headers)
        assert r.status_code == 200, r.text
        return r.json()
