"""MQTT ingest end to end on a real Mosquitto: Sparkplug B edge node or JSON publisher → broker
(TLS, username/password) → poller → spool → sink, with the counting rules of every protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.machine_config import MqttMachine, parse_machine_config
from factoryos.connectivity.mqtt_driver import MqttDriver
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.states import MachineState
from tests.connectivity.mqtt_broker import PASSWORD, USER, Broker
from tests.connectivity.sparkplug_edge import GOOD, REJECT, STATE, EdgeNode
from tests.connectivity.support import MemorySink, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)
STATUS = {"codes": {1: "running", 2: "unplanned_stop"}}


def sparkplug_machine(broker: Broker, mid: str = "press1", *, password: str = PASSWORD,
                      node: str = "Edge1", device: str = "Press1") -> MqttMachine:
    config = parse_machine_config({
        "machine_id": mid, "protocol": "mqtt", "poll_interval": 0.1, "status_map": STATUS,
        "endpoint": {"url": broker.tls_url, "ca_certificate": str(broker.ca), "username": USER,
                     "password": password, "timeout": 2},
        "signals": {"format": "sparkplug", "group_id": "Plant1", "edge_node_id": node, "device_id": device,
                    "good": GOOD, "reject": REJECT, "state": STATE},
    })
    assert isinstance(config, MqttMachine)
    return config


@pytest.fixture
async def edge(broker: Broker) -> AsyncIterator[EdgeNode]:
    node = EdgeNode("127.0.0.1", broker.port, USER, PASSWORD)
    await node.start()
    yield node
    await node.stop()


async def running(machines: list[MqttMachine], tmp_path: Path) -> tuple[ConnectivityService, MemorySink]:
    sink = MemorySink()
    svc = ConnectivityService(machines, sink, tmp_path / "spool.sqlite3", settings=FAST,
                              sink_backoff=Backoff(0.05, 0.2))
    await svc.start()
    return svc, sink


async def delivered(svc: ConnectivityService) -> None:
    assert svc.poller is not None and svc.forwarder is not None
    svc.poller.flush()
    assert await svc.forwarder.wait_delivered(5)


def driver_of(svc: ConnectivityService) -> MqttDriver:
    assert svc.poller is not None
    (session,) = svc.poller.sessions.values()
    assert isinstance(session.driver, MqttDriver)
    return session.driver


async def test_sparkplug_counts_arrive_exactly_and_ddeath_is_no_data(
    broker: Broker, edge: EdgeNode, tmp_path: Path
) -> None:
    svc, sink = await running([sparkplug_machine(broker)], tmp_path)
    try:
        assert svc.poller is not None
        poller = svc.poller
        device = edge.devices["Press1"]
        await eventually(lambda: poller.status("press1").state is MachineState.RUNNING, what="first reading")
        # The host joined after the birth: it asked for one, and the node answered.
        assert edge.rebirth_requests == 1
        expected = [0, 0]
        for good, reject in ((5, 0), (17, 2), (1, 1), (40, 3)):
            await edge.count("Press1", good, reject)
            expected[0] += good
            expected[1] += reject
            await eventually(lambda: poller.status("press1").good_raw == device.good, what="DDATA read")
        await edge.count("Press1", 3, 0, state=2)
        expected[0] += 3
        await eventually(lambda: poller.status("press1").state is MachineState.UNPLANNED_STOP, what="state")
        await delivered(svc)
        assert sink.counts("press1") == tuple(expected)

        await edge.device_death("Press1")
        await eventually(lambda: poller.status("press1").state is MachineState.NO_DATA, what="DDEATH")
        health = poller.status("press1")
        assert health.error_code == "mqtt_no_data" and "DDEATH" in (health.last_error or "")

        # Parts made while the device was dead count when it is born again, like after any gap.
        device.good += 9
        await edge.device_birth("Press1")
        await eventually(lambda: poller.status("press1").good_raw == device.good, what="DBIRTH after DDEATH")
        await delivered(svc)
        assert sink.counts("press1") == (expected[0] + 9, expected[1])
        assert [c.state for c in sink.states("press1")][-2:] == [MachineState.NO_DATA, MachineState.UNPLANNED_STOP]
    finally:
        await svc.stop()


async def test_sequence_gap_asks_for_a_rebirth_and_loses_no_part(
    broker: Broker, edge: EdgeNode, tmp_path: Path
) -> None:
    svc, sink = await running([sparkplug_machine(broker)], tmp_path)
    try:
        assert svc.poller is not None
        poller = svc.poller
        await eventually(lambda: poller.status("press1").good_raw == 0, what="first reading")
        await eventually(lambda: edge.births == 2, what="rebirth for the late host")
        asked = edge.rebirth_requests
        await edge.count("Press1", 4)
        await eventually(lambda: poller.status("press1").good_raw == 4, what="DDATA")
        await edge.count("Press1", 6, skip_seq=True)  # seq n+1 never arrives
        await eventually(lambda: edge.rebirth_requests == asked + 1, what="NCMD Node Control/Rebirth")
        await eventually(lambda: poller.status("press1").good_raw == 10, what="data after the gap")
        assert driver_of(svc).host.gaps == 1
        await edge.count("Press1", 5)
        await eventually(lambda: poller.status("press1").good_raw == 15, what="DDATA after the rebirth")
        await delivered(svc)
        assert sink.counts("press1") == (15, 0)
        assert edge.rebirth_requests == asked + 1  # one request per gap, not one per message
    finally:
        await svc.stop()


async def test_json_topic_with_a_field_mapping(broker: Broker, tmp_path: Path) -> None:
    machine = parse_machine_config({
        "machine_id": "lathe", "protocol": "mqtt", "poll_interval": 0.1, "status_map": STATUS,
        "endpoint": {"url": broker.url, "username": USER, "password": PASSWORD},
        "signals": {"format": "json", "topic": "acme/site1/line2/lathe", "good": "counts.good",
                    "reject": "counts.scrap", "state": "status"},
    })
    assert isinstance(machine, MqttMachine)
    totals: dict[str, Any] = {"counts": {"good": 100, "scrap": 7}, "status": 1}
    async with aiomqtt.Client("127.0.0.1", broker.port, username=USER, password=PASSWORD) as publisher:
        async def publish() -> None:
            await publisher.publish("acme/site1/line2/lathe", json.dumps(totals), qos=1, retain=True)

        await publish()  # retained: the poller reads it on subscribing
        svc, sink = await running([machine], tmp_path)
        try:
            assert svc.poller is not None
            poller = svc.poller
            await eventually(lambda: poller.status("lathe").good_raw == 100, what="retained message")
            for good, scrap in ((3, 0), (12, 1), (0, 2)):
                totals["counts"]["good"] += good
                totals["counts"]["scrap"] += scrap
                await publish()
                await eventually(lambda: poller.status("lathe").reject_raw == totals["counts"]["scrap"]
                                 and poller.status("lathe").good_raw == totals["counts"]["good"], what="message")
            totals["status"] = 2
            await publish()
            await eventually(lambda: poller.status("lathe").state is MachineState.UNPLANNED_STOP, what="status")
            await delivered(svc)
            assert sink.counts("lathe") == (15, 3)  # the first message is the baseline, as with any protocol
        finally:
            await svc.stop()
            await publisher.publish("acme/site1/line2/lathe", b"", retain=True)  # clear the retained message


async def test_wrong_password_is_a_connection_error_in_health(
    broker: Broker, tmp_path: Path
) -> None:
    svc, sink = await running([sparkplug_machine(broker, password="wrong")], tmp_path)
    try:
        assert svc.poller is not None
        poller = svc.poller
        await eventually(lambda: poller.status("press1").error_code == "mqtt_authentication_failed",
                         what="authentication error")
        await delivered(svc)
        assert sink.health["press1"].error_code == "mqtt_authentication_failed"
        assert poller.status("press1").state is MachineState.NO_DATA
        assert "user name or password" in (sink.health["press1"].last_error or "")
    finally:
        await svc.stop()


def json_machine(url: str, mid: str, topic: str, **endpoint: Any) -> MqttMachine:
    config = parse_machine_config({
        "machine_id": mid, "protocol": "mqtt", "poll_interval": 0.1, "status_map": STATUS,
        "endpoint": {"url": url, "username": USER, "password": PASSWORD, "timeout": 2} | endpoint,
        "signals": {"format": "json", "topic": topic, "good": "good", "reject": "reject", "state": "state",
                    "stale_after": 0.6},
    })
    assert isinstance(config, MqttMachine)
    return config


async def test_client_certificates_and_a_silent_topic(broker: Broker, tmp_path: Path) -> None:
    topic = "acme/site1/line1/mill"
    machines = [
        json_machine(broker.mtls_url, "with-cert", topic, ca_certificate=str(broker.ca),
                     client_certificate=str(broker.client_cert), client_private_key=str(broker.client_key)),
        json_machine(broker.mtls_url, "without-cert", topic, ca_certificate=str(broker.ca)),
        json_machine(broker.tls_url, "no-ca-file", topic, ca_certificate=str(tmp_path / "missing.pem")),
    ]
    svc, sink = await running(machines, tmp_path)
    try:
        assert svc.poller is not None
        poller = svc.poller
        async with aiomqtt.Client("127.0.0.1", broker.port, username=USER, password=PASSWORD) as publisher:
            await publisher.publish(topic, json.dumps({"good": 8, "reject": 1, "state": 1}), qos=1, retain=True)
            await eventually(lambda: poller.status("with-cert").good_raw == 8, what="read over mutual TLS")
            await publisher.publish(topic, json.dumps({"good": 10, "reject": 1, "state": 1}), qos=1, retain=True)
            await eventually(lambda: poller.status("with-cert").good_raw == 10, what="second message")
            await publisher.publish(topic, b"", qos=1, retain=True)  # clear the retained message
        assert poller.status("with-cert").state is MachineState.RUNNING
        # Silent for longer than `stale_after`: no data, not the last state forever.
        await eventually(lambda: poller.status("with-cert").state is MachineState.NO_DATA, what="stale topic")
        assert poller.status("with-cert").error_code == "mqtt_no_data"
        # TLS 1.3: the broker refuses the missing certificate after the handshake, so it shows as a timeout.
        await eventually(lambda: poller.status("without-cert").error_code == "endpoint_unavailable",
                         what="refused without a client certificate")
        assert "client certificate" in (poller.status("without-cert").last_error or "")
        assert poller.status("no-ca-file").error_code == "mqtt_certificate_invalid"
        await delivered(svc)
        assert sink.counts("with-cert") == (2, 0)
    finally:
        await svc.stop()


async def test_counts_survive_a_broker_restart(tmp_path: Path) -> None:
    from tests.connectivity.mqtt_broker import running_broker

    ports = (free_port(), free_port(), free_port())
    directory = tmp_path / "broker"
    directory.mkdir()
    with running_broker(directory, ports) as first:
        machine = sparkplug_machine(first, node="Edge9")
        edge = EdgeNode("127.0.0.1", first.port, USER, PASSWORD, node="Edge9")
        await edge.start()
        svc, sink = await running([machine], tmp_path)
        assert svc.poller is not None
        poller = svc.poller
        device = edge.devices["Press1"]
        await eventually(lambda: poller.status("press1").good_raw == 0, what="first reading")
        await edge.count("Press1", 11, 1)
        await eventually(lambda: poller.status("press1").good_raw == 11, what="DDATA")
        await edge.stop(clean=False)
    try:
        await eventually(lambda: poller.status("press1").state is MachineState.NO_DATA, what="broker gone")
        assert poller.status("press1").error_code == "endpoint_unavailable"
        device.good += 20  # made while the broker was down
        with running_broker(directory, ports) as again:
            edge = EdgeNode("127.0.0.1", again.port, USER, PASSWORD, node="Edge9", bd_seq=1,
                            devices={"Press1": device})
            await edge.start()
            try:
                await eventually(lambda: poller.status("press1").good_raw == 31, timeout=15, what="back after restart")
                await edge.count("Press1", 4)
                await eventually(lambda: poller.status("press1").good_raw == 35, what="DDATA after restart")
                await delivered(svc)
                assert sink.counts("press1") == (35, 1)
            finally:
                await edge.stop()
    finally:
        await svc.stop()
