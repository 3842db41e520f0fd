"""Site edge → Mosquitto (TLS, MQTT 5, username/password, ACL from the registry) → two ingest
services on a shared subscription → PostgreSQL: stored totals equal what the simulated PLCs made;
a broker outage is spooled and caught up; an edge publishing another site's machine, or a
revoked edge, is refused and audited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from factoryos.connectivity.events import CountDelta
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.sparkplug import events as spb
from tests.connectivity.support import eventually, free_port
from tests.edge.broker import EdgeBroker
from tests.edge.harness import (
    build_company,
    connect,
    edge_runtime,
    refusals,
    register_edge,
    start_ingests,
    totals,
    write_broker_files,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
MACHINES = 4


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EdgeBroker]:
    b = EdgeBroker(tmp_path / "broker")
    yield b
    b.stop()


async def _bump(sim: Simulator, expected: dict[str, list[int]], plc: dict[str, str], good: int, reject: int) -> None:
    for pid, sim_id in plc.items():
        machine = sim.machine(sim_id)
        await sim.set_counters(sim_id, good=machine.good + good, reject=machine.reject + reject)
        expected[pid][0] += good
        expected[pid][1] += reject


async def test_edge_to_two_ingests_stores_every_part_once_through_a_broker_outage(
        http, live_server, app_engine, superuser_engine, broker: EdgeBroker, tmp_path: Path) -> None:
    company = build_company(http, MACHINES)
    edge = register_edge(http, company)
    write_broker_files(broker, app_engine, [company.tenant_id])
    broker.start()
    async with Simulator(MACHINES, protocol="modbus", seed=7, modbus_port=free_port(), tick=None) as sim:
        connect(http, company, sim)
        pids = [company.poll_id(m) for m in company.machines]
        plc = {pid: sim_machine.machine_id for pid, sim_machine in zip(pids, sim.machines, strict=True)}
        by_pid = {company.poll_id(m): m["id"] for m in company.machines}
        expected = {pid: [0, 0] for pid in pids}
        ingests = await start_ingests(app_engine, broker, 2, f"t{uuid.uuid4().hex[:6]}")
        runtime = edge_runtime(live_server.url, broker, edge["token"], tmp_path / "edge")
        await runtime.start()
        try:
            assert runtime.poller is not None and runtime.forwarder is not None
            poller, forwarder = runtime.poller, runtime.forwarder
            assert set(poller.machines) == set(pids)  # its site's machines, from the API; not the other site's
            assert runtime.source == "server"

            def read_all() -> bool:
                return all(poller.status(p).good_raw == sim.machine(s).good_counter for p, s in plc.items())

            async def settle() -> None:
                await eventually(read_all, what="counters read")
                poller.flush()
                assert await forwarder.wait_delivered(15), f"{forwarder.pending} events still spooled"

            def stored() -> dict[str, list[int]]:
                return {pid: totals(superuser_engine, by_pid[pid]) for pid in pids}

            await eventually(read_all, what="baselines")
            for step in range(5):
                await _bump(sim, expected, plc, 7 + step, step % 2)
                await asyncio.sleep(0.3)
            await settle()
            try:
                await eventually(lambda: stored() == expected, timeout=15, what=f"totals {expected}")
            except AssertionError:
                raise AssertionError(f"{stored()} != {expected}; {[s.stats for s in ingests.services]}") from None
            # Both ingest services took a share of the messages.
            assert all(s.stats.events > 0 for s in ingests.services), [s.stats for s in ingests.services]

            # The broker goes away: polling goes on, events wait in the edge's spool.
            broker.stop()
            for step in range(4):
                await _bump(sim, expected, plc, 3 + step, 1)
                await eventually(read_all, what="counters read while the broker is down")
                poller.flush()
                await asyncio.sleep(0.5)
            await eventually(lambda: len(forwarder.spool) > 0, what="events spooled")
            assert stored() != expected
            broker.start()
            await settle()
            try:
                await eventually(lambda: stored() == expected, timeout=20, what="totals after the outage")
            except AssertionError:
                for t in ingests.tasks:
                    t.print_stack()
                raise AssertionError(f"{stored()} != {expected}; {[s.stats for s in ingests.services]}") from None

            # After the lost session the last minute's events went again (what the broker may have
            # acknowledged without delivering), and were not stored twice.
            assert runtime.publisher.replayed > 0

            # Delivering everything again (as after an edge crash before its spool was acknowledged)
            # stores nothing twice.
            before = sum(s.stats.events for s in ingests.services)
            deltas = [CountDelta(machine_id=pid, minute_utc=_minute(), good=5, reject=0, key=f"replay-{pid}")
                      for pid in pids]
            await runtime.publisher.write(deltas)
            await runtime.publisher.write(deltas)
            await eventually(lambda: sum(s.stats.events for s in ingests.services) >= before + 2 * len(pids),
                             what="replays received")
            for pid in pids:
                expected[pid][0] += 5
            # The count above may be met by the edge's own replay after the lost session: wait for the store,
            # then make sure no second copy follows.
            await eventually(lambda: stored() == expected, timeout=15, what="the replayed parts stored once")
            await asyncio.sleep(1.0)
            assert stored() == expected
        finally:
            await runtime.stop()
            await ingests.close()


def _minute():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(second=0, microsecond=0)


async def _publish_as_edge(broker: EdgeBroker, edge: dict, group: str, machine_poll_id: str, good: int) -> None:
    device = machine_poll_id.split("/")[1]
    delta = CountDelta(machine_id=machine_poll_id, minute_utc=_minute(), good=good, reject=0,
                       key=f"forged-{uuid.uuid4().hex}")
    async with aiomqtt.Client("127.0.0.1", broker.port, username=edge["mqtt_username"], password=edge["secret"],
                              protocol=aiomqtt.ProtocolVersion.V5, tls_context=_tls(broker)) as client:
        await client.publish(spb.topic(group, "DDATA", edge["mqtt_username"], device), spb.device_data([delta], 0),
                             qos=1)


def _tls(broker: EdgeBroker):  # type: ignore[no-untyped-def]
    import ssl

    return ssl.create_default_context(cafile=str(broker.ca))


async def test_ingest_refuses_another_sites_machine_and_a_revoked_edge(
        http, live_server, app_engine, superuser_engine, broker: EdgeBroker) -> None:
    company = build_company(http, 1)
    edge = register_edge(http, company)
    write_broker_files(broker, app_engine, [company.tenant_id])
    broker.start()
    ingests = await start_ingests(app_engine, broker, 2, f"t{uuid.uuid4().hex[:6]}")
    group = str(company.tenant_id)
    own, stray = company.poll_id(company.machines[0]), company.poll_id(company.other_machine)
    try:
        # Its own site's machine: stored.
        await _publish_as_edge(broker, edge, group, own, 4)
        await eventually(lambda: totals(superuser_engine, company.machines[0]["id"]) == [4, 0], what="stored")
        # A machine of the company's other site: dropped and audited.
        await _publish_as_edge(broker, edge, group, stray, 9)
        await eventually(lambda: len(refusals(superuser_engine, company.tenant_id)) == 1, what="refusal audited")
        row = refusals(superuser_engine, company.tenant_id)[0]
        assert row["entity_id"] == edge["id"]
        assert row["after"]["reason"] == "machine of another site"
        assert row["after"]["machine_id"] == company.other_machine["id"]
        assert totals(superuser_engine, company.other_machine["id"]) == [0, 0]

        # Revoked: the API refuses its token at once; the ingest drops what it still publishes
        # (the broker still knows it until its files are written again).
        r = http.post(f"/api/v1/edges/{edge['id']}/revoke", headers=company.owner.headers)
        assert r.status_code == 200, r.text
        assert r.json()["revoked_at"] is not None
        r = http.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {edge['token']}"})
        assert r.status_code == 401 and r.json()["code"] == "edge_unauthorized", r.text
        await asyncio.sleep(0.6)  # the ingest's directory remembers an edge for 0.5 s here
        await _publish_as_edge(broker, edge, group, own, 6)
        await eventually(lambda: any(r["after"]["reason"] == "revoked edge"
                                     for r in refusals(superuser_engine, company.tenant_id)), what="revoked refused")
        assert totals(superuser_engine, company.machines[0]["id"]) == [4, 0]

        # Once the broker's files are written again, the broker itself refuses the edge.
        write_broker_files(broker, app_engine, [company.tenant_id])
        broker.reload()
        await asyncio.sleep(0.5)
        with pytest.raises(aiomqtt.MqttError):
            await _publish_as_edge(broker, edge, group, own, 1)
    finally:
        await ingests.close()
