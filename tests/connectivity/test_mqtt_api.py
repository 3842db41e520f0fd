"""MQTT connections over the real API and into PostgreSQL: the broker password write-only and
encrypted, the fields named in errors, Sparkplug B counts stored exactly, DDEATH shown as no
data in the live view, and a refused password shown in the connection's health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.connectivity.credentials import decrypt_password
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.identity.keys import DerivedKeys
from tests.accounts import new_company
from tests.connectivity.mqtt_broker import PASSWORD, USER, Broker
from tests.connectivity.plant_wiring import HAND_SET, Plant, live, live_until
from tests.connectivity.sparkplug_edge import GOOD, REJECT, STATE, EdgeNode
from tests.connectivity.support import eventually
from tests.production import plant
from tests.production.plant import problem

pytestmark = pytest.mark.asyncio(loop_scope="session")
MAPPING = {"codes": {"1": "running", "2": "unplanned_stop"}, "default": "unplanned_stop"}


def mqtt_body(broker: Broker, node: str, *, password: str | None = PASSWORD, **endpoint: Any) -> dict[str, Any]:
    ep: dict[str, Any] = {"url": broker.tls_url, "ca_certificate": str(broker.ca), "username": USER} | endpoint
    if password is not None:
        ep["password"] = password
    return {
        "protocol": "mqtt", "poll_interval": 0.2, "endpoint": ep,
        "signals": {"format": "sparkplug", "group_id": "Plant1", "edge_node_id": node, "device_id": "Press1",
                    "good": GOOD, "reject": REJECT, "state": STATE, "plausibility": HAND_SET},
    }


def one_machine(http: httpx.Client) -> Plant:
    owner = new_company(http)
    site = plant.site(http, owner, timezone="UTC")
    began = (datetime.now(UTC) - timedelta(hours=2)).strftime("%H:00")
    plant.shift(http, owner, site["id"], "Round the clock", began, began)
    return Plant(owner, site, [plant.machine(http, owner, site["id"], cycle=1, status_mapping=MAPPING)])


@pytest.fixture
async def edge(broker: Broker, request: pytest.FixtureRequest) -> AsyncIterator[EdgeNode]:
    node = EdgeNode("127.0.0.1", broker.port, USER, PASSWORD, node=f"Edge-{request.node.name[5:25]}")
    await node.start()
    yield node
    await node.stop()


def url(site: Plant) -> str:
    return f"/api/v1/machines/{site.machines[0]['id']}/connection"


async def test_settings_validate_and_the_broker_password_is_write_only(
    http: httpx.Client, broker: Broker, superuser_engine: Engine, settings
) -> None:
    site = one_machine(http)
    h = site.owner.headers
    problem(http.put(url(site), json=mqtt_body(broker, "N", url="tcp://broker:1883"), headers=h), 422,
            "invalid_machine_config", "endpoint.url")
    problem(http.put(url(site), json=mqtt_body(broker, "N", ca_certificate="certs/ca.pem"), headers=h), 422,
            "invalid_machine_config", "endpoint.ca_certificate")
    bad_signals = mqtt_body(broker, "N")
    bad_signals["signals"] = {"format": "xml"}
    problem(http.put(url(site), json=bad_signals, headers=h), 422, "invalid_machine_config", "signals.format")

    r = http.put(url(site), json=mqtt_body(broker, "N"), headers=h)
    assert r.status_code == 200, r.text
    assert PASSWORD not in r.text and "password" not in r.json()["endpoint"] and r.json()["has_password"]
    with superuser_engine.connect() as conn:
        stored, endpoint = conn.execute(
            text("select password_encrypted, endpoint::text from machine_connections where machine_id = :m"),
            {"m": site.machines[0]["id"]}).one()
    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    assert PASSWORD not in stored and PASSWORD not in endpoint and decrypt_password(keys, stored) == PASSWORD

    r = http.put(url(site), json=mqtt_body(broker, "N", password=None, timeout=3), headers=h)  # kept
    assert r.status_code == 200 and r.json()["has_password"] and r.json()["endpoint"]["timeout"] == 3
    assert http.delete(url(site), headers=h).status_code == 204


async def test_sparkplug_counts_are_stored_exactly_and_ddeath_is_no_data(
    http: httpx.Client, client: httpx.AsyncClient, runtime: PollerRuntime, broker: Broker, edge: EdgeNode
) -> None:
    site = one_machine(http)
    mid = site.machines[0]["id"]
    r = await client.put(url(site), json=mqtt_body(broker, edge.node), headers=site.owner.headers)
    assert r.status_code == 200, r.text
    await runtime.reload()
    assert runtime.poller is not None
    poller, pid, device = runtime.poller, site.poll_id(0), edge.devices["Press1"]
    await eventually(lambda: pid in poller.machines and poller.status(pid).good_raw == device.good, what="birth")
    for good, reject in ((12, 1), (30, 0), (7, 4)):
        await edge.count("Press1", good, reject)
        await eventually(lambda: poller.status(pid).good_raw == device.good, what="DDATA")
    await edge.count("Press1", 1, 0, state=2)
    await eventually(lambda: poller.status(pid).raw_code == 2, what="state")
    poller.flush()
    assert runtime.forwarder is not None and await runtime.forwarder.wait_delivered(10)
    rows = await live(client, site)
    assert (rows[mid]["good_count"], rows[mid]["reject_count"]) == (50, 5)
    assert rows[mid]["state"] == "unplanned_stop" and rows[mid]["connection"]["protocol"] == "mqtt"

    await edge.device_death("Press1")
    rows = await live_until(client, site, lambda rows: rows[mid]["state"] == "no_data", "DDEATH shown as no data")
    assert rows[mid]["pending_downtime"] == []  # no data is not a stop
    await client.delete(url(site), headers=site.owner.headers)


async def test_a_refused_password_shows_in_the_connection_health(
    http: httpx.Client, client: httpx.AsyncClient, runtime: PollerRuntime, broker: Broker
) -> None:
    site = one_machine(http)
    r = await client.put(url(site), json=mqtt_body(broker, "Nobody", password="not-the-password"),
                         headers=site.owner.headers)
    assert r.status_code == 200, r.text
    await runtime.reload()

    async def health() -> dict[str, Any]:
        return (await client.get(url(site), headers=site.owner.headers)).json()["health"]

    deadline = datetime.now(UTC) + timedelta(seconds=15)
    while (got := await health())["state"] != "error":
        assert datetime.now(UTC) < deadline, got
        await asyncio.sleep(0.1)
    assert got["error_code"] == "mqtt_authentication_failed" and "user name or password" in got["last_error"]
    assert PASSWORD not in got["last_error"]
    await client.delete(url(site), headers=site.owner.headers)


async def test_test_connection_reads_once_without_saving(
    http: httpx.Client, client: httpx.AsyncClient, broker: Broker, edge: EdgeNode
) -> None:
    site = one_machine(http)
    h = site.owner.headers
    device = edge.devices["Press1"]
    device.good, device.reject, device.state = 1234, 56, 1
    await edge.device_birth("Press1")

    r = await client.post(f"{url(site)}/test", json=mqtt_body(broker, edge.node), headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ok"] and out["error"] is None
    assert out["reading"] == {"good_raw": 1234, "reject_raw": 56, "state_code": 1, "state": "running",
                              "alarm_code": None}
    assert (await client.get(url(site), headers=h)).status_code == 404  # nothing saved

    r = await client.post(f"{url(site)}/test", json=mqtt_body(broker, edge.node, password="wrong"), headers=h)
    assert r.status_code == 200 and r.json()["ok"] is False
    assert r.json()["error_code"] == "mqtt_authentication_failed" and r.json()["reading"] is None

    r = await client.post(f"{url(site)}/test", json=mqtt_body(broker, "NoSuchNode"), headers=h)
    assert r.json()["error_code"] == "mqtt_no_data" and "no birth" in r.json()["error"]

    # Saved with its password, then tested without it: the stored password is used.
    assert (await client.put(url(site), json=mqtt_body(broker, edge.node), headers=h)).status_code == 200
    r = await client.post(f"{url(site)}/test", json=mqtt_body(broker, edge.node, password=None), headers=h)
    assert r.json()["ok"], r.text
    problem(await client.post(f"{url(site)}/test", json=mqtt_body(broker, "N", url="tcp://x"), headers=h), 422,
            "invalid_machine_config", "endpoint.url")
    await client.delete(url(site), headers=h)
