"""A PLC that cannot be read is *no data*, not a breakdown: simulated Modbus server stopped for
a few seconds → poller runtime → PostgreSQL → `/production/live` over HTTP."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from sqlalchemy import select

from factoryos.connectivity.simulator import Simulator
from factoryos.db.tenant import tenant_transaction
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi
from tests.connectivity.plant_wiring import build_plant, connect, disconnect, live_until
from tests.connectivity.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
THRESHOLD = 2  # seconds: the outage below lasts longer, so as a stop it would open downtime






async def test_a_stopped_plc_gives_a_no_data_interval_and_no_downtime(http, client, runtime, app_engine) -> None:
    site = build_plant(http, 1, micro_stop_seconds=THRESHOLD)
    mid = site.machines[0]["id"]
    async with Simulator(1, protocol="modbus", seed=7, modbus_port=free_port(), opcua_port=free_port(),
                         tick=None) as sim:
        assert sim.modbus is not None
        await connect(client, site, sim)
        await runtime.reload()
        await live_until(client, site, lambda rows: rows[mid]["state"] == "running", "running")

        await sim.modbus.stop()
        rows = await live_until(client, site, lambda rows: rows[mid]["state"] == "no_data", "no data")
        assert rows[mid]["raw_code"] is None
        await asyncio.sleep(THRESHOLD + 1.5)  # past the threshold, several downtime sweeps
        rows = await live_until(client, site, lambda rows: rows[mid]["state"] == "no_data", "still no data")
        assert rows[mid]["pending_downtime"] == []

        await sim.modbus.start()
        await live_until(client, site, lambda rows: rows[mid]["state"] == "running", "running again")
        await disconnect(client, site)

    with tenant_transaction(app_engine, site.tenant_id) as conn:
        states = conn.execute(select(msi.c.state, msi.c.started_at, msi.c.ended_at)
                              .where(msi.c.machine_id == UUID(mid)).order_by(msi.c.started_at)).all()
        events = conn.execute(select(de.c.id).where(de.c.machine_id == UUID(mid))).all()
    assert [s.state for s in states] == ["running", "no_data", "running"]
    gap = states[1]
    assert (gap.ended_at - gap.started_at).total_seconds() > THRESHOLD
    assert events == []
