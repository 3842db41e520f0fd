"""*Test connection* over the API for the polled protocols, against the real simulators (MQTT's is in
test_mqtt_api.py): one read with unsaved settings, and a failure as an answer, not an error."""

from __future__ import annotations

import httpx
import pytest

from factoryos.connectivity.simulator import Simulator
from tests.connectivity.plant_wiring import build_plant, connection_body
from tests.connectivity.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
async def test_read_once_with_unsaved_settings(protocol: str, http: httpx.Client, client: httpx.AsyncClient) -> None:
    site = build_plant(http, 1)
    url = f"/api/v1/machines/{site.machines[0]['id']}/connection"
    async with Simulator(1, protocol=protocol, seed=5, opcua_port=free_port(), modbus_port=free_port(),  # type: ignore[arg-type]
                         tick=None) as sim:
        plc = sim.machines[0]
        body = connection_body(sim.machine_configs()[0], 1.0)
        r = await client.post(f"{url}/test", json=body, headers=site.owner.headers)
        assert r.status_code == 200, r.text
        reading = r.json()["reading"]
        assert r.json()["ok"] and (reading["good_raw"], reading["reject_raw"]) == (plc.good_counter, plc.reject_counter)
        assert reading["state"] == "running"
    r = await client.post(f"{url}/test", json=body, headers=site.owner.headers)  # the simulator is gone
    assert r.status_code == 200 and r.json()["ok"] is False and r.json()["error_code"] == "endpoint_unavailable"
    assert (await client.get(url, headers=site.owner.headers)).status_code == 404  # nothing was saved
