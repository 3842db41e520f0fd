"""A site edge whose OPC-UA connections are in subscription mode: the edge's poller takes the mode
from the server's connection settings, and every part reaches the database through the broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from factoryos.connectivity.machine_config import Acquisition, OpcUaMachine
from factoryos.connectivity.simulator import Simulator
from tests.connectivity.plant_wiring import HAND_SET, connection_body
from tests.connectivity.support import eventually, free_port
from tests.edge.broker import EdgeBroker
from tests.edge.harness import build_company, edge_runtime, register_edge, start_ingests, totals, write_broker_files

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_edge_counts_by_subscription(http, live_server, app_engine, superuser_engine,
                                              tmp_path: Path) -> None:
    broker = EdgeBroker(tmp_path / "broker")
    company = build_company(http, 2)
    edge = register_edge(http, company)
    write_broker_files(broker, app_engine, [company.tenant_id])
    broker.start()
    try:
        async with Simulator(2, protocol="opcua", seed=9, opcua_port=free_port(), tick=None) as sim:
            for machine, config in zip(company.machines, sim.machine_configs(), strict=True):
                assert isinstance(config, OpcUaMachine)
                endpoint = config.endpoint.model_copy(update={"acquisition": Acquisition.SUBSCRIPTION,
                                                              "publishing_interval": 0.1})
                body = connection_body(config.model_copy(update={"endpoint": endpoint}), 0.2, HAND_SET)
                r = http.put(f"/api/v1/machines/{machine['id']}/connection", json=body,
                             headers=company.owner.headers)
                assert r.status_code == 200, r.text
            plc = {company.poll_id(m): s.machine_id for m, s in zip(company.machines, sim.machines, strict=True)}
            by_pid = {company.poll_id(m): m["id"] for m in company.machines}
            ingests = await start_ingests(app_engine, broker, 1, f"s{uuid.uuid4().hex[:6]}")
            runtime = edge_runtime(live_server.url, broker, edge["token"], tmp_path / "edge")
            await runtime.start()
            try:
                poller, forwarder = runtime.poller, runtime.forwarder
                assert poller is not None and forwarder is not None and set(poller.machines) == set(plc)
                assert all(s.driver.pushed is not None for s in poller.sessions.values())  # type: ignore[attr-defined]

                def read_all() -> bool:
                    return all(poller.status(p).good_raw == sim.machine(s).good_counter for p, s in plc.items())

                await eventually(read_all, what="first values")
                for step in range(3):
                    for sim_id in plc.values():
                        m = sim.machine(sim_id)
                        await sim.set_counters(sim_id, good=m.good + 4 + step, reject=m.reject + step % 2)
                    await eventually(read_all, what="counters pushed")
                poller.flush()
                assert await forwarder.wait_delivered(15)
                expected = {pid: [15, 1] for pid in plc}
                await eventually(lambda: {p: totals(superuser_engine, by_pid[p]) for p in plc} == expected,
                                 timeout=20, what=f"totals {expected}")
            finally:
                await runtime.stop()
                await ingests.close()
    finally:
        broker.stop()
