"""Simulated PLC counts belong to the operation running on the machine, bounded by its standard.

Real Modbus TCP and OPC-UA servers on loopback, the poller runtime as the app role, the run
started and completed over HTTP like an operator at the terminal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import text

from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from tests.accounts import new_company
from tests.connectivity.plant_wiring import SIM_MAPPING, Plant, connect, disconnect
from tests.connectivity.support import eventually, free_port
from tests.orders import runs_plant
from tests.production import plant

pytestmark = pytest.mark.asyncio(loop_scope="session")


def fast_machine_plant(http) -> Plant:
    """One machine whose own ideal cycle is 0.1 ms: by its own rate a jump of 20 parts is plausible even
    between two polls a few milliseconds apart (the first poll runs at once, the next on the grid)."""
    owner = new_company(http)
    site = plant.site(http, owner, timezone="UTC")
    began = (datetime.now(UTC) - timedelta(hours=2)).strftime("%H:00")
    plant.shift(http, owner, site["id"], "Round the clock", began, began)
    return Plant(owner, site, [plant.machine(http, owner, site["id"], cycle="0.0001", status_mapping=SIM_MAPPING)])


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
async def test_counts_go_to_the_running_operation_at_its_rate(protocol, http, client, runtime: PollerRuntime,
                                                              app_engine, superuser_engine) -> None:
    site = fast_machine_plant(http)
    m = site.machines[0]
    pid = site.poll_id(0)
    # A two-cavity mould at 120 s a cycle: 60 s a part.
    mo = runs_plant.order(app_engine, site.owner.tenant_id, [{"machine_id": m["id"],
                                                               "allowed": [runs_plant.allowed(m, "120", 2)]}])
    run_path = f"/api/v1/machines/{m['id']}/run"
    headers = site.owner.headers
    async with Simulator(1, protocol=protocol, seed=7, opcua_port=free_port(), modbus_port=free_port(),
                         tick=None) as sim:
        plc = sim.machines[0]
        assert runtime.poller is not None and runtime.forwarder is not None
        poller = runtime.poller

        async def read() -> None:
            await eventually(lambda: pid in poller.machines and (poller.status(pid).good_raw,
                                                                 poller.status(pid).reject_raw)
                             == (plc.good_counter, plc.reject_counter), what="counters read")

        async def bump(good: int, reject: int = 0) -> None:
            await sim.set_counters(plc.machine_id, good=plc.good + good, reject=plc.reject + reject)
            await read()

        async def delivered() -> None:
            poller.flush()
            assert await runtime.forwarder.wait_delivered(10)

        await connect(client, site, sim)
        await runtime.reload()
        await read()  # the baseline: what the PLC made before is not counted
        assert poller.ideal_cycle_time(pid) == 0.0001

        r = await client.post(run_path, json={"operation_id": mo["operations"][0]}, headers=headers)
        assert r.status_code == 201, r.text
        # Started two minutes ago: PLC minutes belong to the run holding their midpoint (minute + 30 s),
        # so the minute being counted now is the run's whatever the second on the clock.
        run_id = r.json()["run"]["id"]
        with superuser_engine.begin() as conn:
            conn.execute(text("update operation_runs set started_at = started_at - interval '2 minutes' "
                              "where id = :r"), {"r": run_id})
        changes = await runtime.reload()
        assert not changes, changes  # the rate follows the run in place: the machine's poller is not restarted
        assert poller.ideal_cycle_time(pid) == 60.0

        await bump(1, 1)  # one part (and one scrap) per poll is what a 60 s part allows
        await bump(20)  # 20 parts in a fraction of a second: plausible at 0.1 ms, not at 60 s
        await bump(1)  # the baseline moved on past the jump: counting goes on from there
        await delivered()
        r = await client.get(run_path, headers=headers)
        assert (r.json()["run_good"], r.json()["run_scrap"], r.json()["good"], r.json()["scrap"]) == (2, 1, 2, 1)
        with superuser_engine.connect() as conn:
            anomaly = conn.execute(text("select signal, delta, allowed from counter_anomalies where machine_id = :m"),
                                   {"m": m["id"]}).one()
        assert tuple(anomaly) == ("good", 20, 1)

        # Ending the run now would leave a minute whose midpoint is still ahead to whatever runs next.
        # Instead of waiting for it (up to 30 s), the run and its counted minutes move a minute back, as
        # if the minute had passed: every counted minute's midpoint is then behind the run's end.
        with superuser_engine.begin() as conn:
            conn.execute(text("update machine_count_buckets set minute = minute - interval '1 minute' "
                              "where machine_id = :m"), {"m": m["id"]})
            conn.execute(text("update operation_runs set started_at = started_at - interval '1 minute' "
                              "where id = :r"), {"r": run_id})
        r = await client.post(run_path + "/complete", json={}, headers=headers)
        assert r.status_code == 200 and r.json()["good"] == 2, r.text
        await runtime.reload()
        assert poller.ideal_cycle_time(pid) == 0.0001  # nothing runs: the machine's own rate again
        await bump(20)
        await delivered()

        def counted() -> tuple[int, int]:
            with superuser_engine.connect() as conn:
                return tuple(conn.execute(text("select sum(good), sum(reject) from machine_count_buckets "
                                               "where machine_id = :m"), {"m": m["id"]}).one())

        # Nothing lost across the run's start and end (a loaded machine may store the last delta a moment later).
        await eventually(lambda: counted() == (22, 1), timeout=20, what=f"22 good, 1 scrap stored (have {counted()})")
        with superuser_engine.connect() as conn:
            assert conn.execute(text("select count(*) from counter_anomalies where machine_id = :m"),
                                {"m": m["id"]}).scalar_one() == 1  # the 20 after the run were plausible
            confirmed = conn.execute(text("select good, scrap, final from order_confirmations where operation_id = :o"),
                                     {"o": UUID(mo["operations"][0])}).one()
        assert tuple(confirmed) == (2, 1, True)
        await disconnect(client, site)
