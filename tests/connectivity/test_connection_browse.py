"""Browsing an OPC-UA server's address space over the API (issue 20), against the real OPC-UA
simulator: the Objects folder, then the machines folder, then one machine's variables with their
current values; a malformed node id is refused at the field, an unknown node or a server that
cannot be reached is an answer, not an error; operators cannot browse."""

from __future__ import annotations

import httpx
import pytest

from factoryos.connectivity.simulator import Simulator
from tests.accounts import join
from tests.connectivity.plant_wiring import build_plant, connection_body
from tests.connectivity.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_browse_down_to_a_machines_counters(http: httpx.Client, client: httpx.AsyncClient) -> None:
    site = build_plant(http, 1)
    url = f"/api/v1/machines/{site.machines[0]['id']}/connection/browse"
    headers = site.owner.headers
    async with Simulator(2, protocol="opcua", seed=5, opcua_port=free_port(), tick=None) as sim:
        endpoint = connection_body(sim.machine_configs()[0], 1.0)["endpoint"]

        async def browse(node_id: str | None) -> dict:
            r = await client.post(url, json={"endpoint": endpoint, "node_id": node_id}, headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["ok"], r.json()
            return {n["name"]: n for n in r.json()["nodes"]}

        top = await browse(None)
        assert top["Machines"]["node_class"] == "object" and "Server" in top
        machines = await browse(top["Machines"]["node_id"])
        assert sorted(machines) == sorted(m.machine_id for m in sim.machines)
        plc = sim.machines[1]
        variables = await browse(machines[plc.machine_id]["node_id"])
        good = variables["GoodCount"]
        assert good["node_id"] == sim.opcua.node_id(plc.machine_id, "GoodCount")
        assert (good["node_class"], good["value_type"], good["value"], good["counter"]) == (
            "variable", "UInt32", str(plc.good_counter), True)
        assert variables["StateCode"]["value_type"] == "UInt16"

        r = await client.post(url, json={"endpoint": endpoint, "node_id": "ns=2;s=NoSuch.Node"}, headers=headers)
        assert r.status_code == 200 and r.json()["ok"] is False and r.json()["error_code"] == "signal_read_failed"
        r = await client.post(url, json={"endpoint": endpoint, "node_id": "not a node"}, headers=headers)
        assert r.status_code == 422 and (r.json()["code"], r.json()["field"]) == ("invalid_node_id", "node_id")
        operator = join(http, site.owner, "operator")
        r = await client.post(url, json={"endpoint": endpoint}, headers=operator.headers)
        assert r.status_code == 403
    r = await client.post(url, json={"endpoint": endpoint}, headers=headers)  # the simulator is gone
    assert r.status_code == 200 and r.json()["ok"] is False and r.json()["error_code"] == "endpoint_unavailable"
    r = await client.post(url, json={"endpoint": {"url": "http://not-opc"}}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "endpoint.url"
