"""Maintenance plans fall due from what a real PLC reports: cycles from its counters, run hours
from its running state, read by the poller from a Modbus TCP simulator on loopback."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.simulator.machine import SimCode
from tests.connectivity.plant_wiring import connect
from tests.connectivity.support import eventually, free_port
from tests.connectivity.test_order_counts import fast_machine_plant

pytestmark = pytest.mark.asyncio(loop_scope="session")
M = "/api/v1/maintenance"


async def test_cycle_and_run_hour_plans_fall_due_from_the_plc(http, client, runtime: PollerRuntime) -> None:
    site = fast_machine_plant(http)
    m, pid, headers = site.machines[0], site.poll_id(0), site.owner.headers
    asset = (await client.get(f"{M}/machines/{m['id']}/asset", headers=headers)).json()

    # Last serviced two minutes ago: PLC counts come in minute buckets, and a bucket that began
    # before the last service does not count towards the next one.
    serviced = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()

    async def plan(**body) -> str:
        r = await client.post(f"{M}/plans", headers=headers, json={"asset_id": asset["id"], "name": "Service",
                                                                   "needs_stop": False, "last_done_at": serviced}
                              | body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    cycles = await plan(every_cycles=10)
    hours = await plan(every_run_hours="0.001")  # 3.6 s of running

    async def state_of(plan_id: str) -> tuple[str, float]:
        got = (await client.get(f"{M}/plans/{plan_id}", headers=headers)).json()
        return got["state"], got["triggers"][0]["used"]

    async with Simulator(1, protocol="modbus", seed=11, opcua_port=free_port(), modbus_port=free_port(),
                         tick=None) as sim:
        plc = sim.machines[0]
        await sim.force_state(plc.machine_id, SimCode.RUNNING)
        await connect(client, site, sim)
        await runtime.reload()
        poller = runtime.poller
        assert poller is not None and runtime.forwarder is not None
        await eventually(lambda: pid in poller.machines and poller.status(pid).good_raw == plc.good_counter,
                         what="the baseline read")
        assert (await state_of(cycles))[0] == "ok" and (await state_of(hours))[0] == "ok"

        await sim.set_counters(plc.machine_id, good=plc.good + 8, reject=plc.reject + 1)
        await eventually(lambda: poller.status(pid).good_raw == plc.good_counter, what="the parts read")
        poller.flush()
        assert await runtime.forwarder.wait_delivered(10)
        assert await state_of(cycles) == ("ok", 9)  # good and reject parts are both cycles

        await sim.set_counters(plc.machine_id, good=plc.good + 3)
        await eventually(lambda: poller.status(pid).good_raw == plc.good_counter, what="the parts read")
        poller.flush()
        assert await runtime.forwarder.wait_delivered(10)
        assert await state_of(cycles) == ("due", 12)

        # Running since the first read: due once 3.6 s of running are stored.
        await eventually_async(lambda: state_of(hours), lambda s: s[0] == "due", what="the run-hour plan due")

    # Reading the due list makes the preventive work order of each plan that fell due, once.
    due = (await client.get(f"{M}/due", headers=headers)).json()
    assert {p["id"] for p in due if p["state"] == "due"} >= {cycles, hours}
    orders = (await client.get(f"{M}/work-orders", headers=headers)).json()
    made = [o for o in (orders["items"] if isinstance(orders, dict) else orders) if o.get("plan_id") in (cycles, hours)]
    assert sorted(o["kind"] for o in made) == ["preventive", "preventive"]


async def eventually_async(get, ok, *, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout:.0f} s")
        await asyncio.sleep(0.3)
