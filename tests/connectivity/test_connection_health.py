"""Connection health tells the truth: `last_ok` keeps up with good polls, and saving new
settings clears what the old ones reported until the poller reports with the new ones.

A real Modbus simulator on loopback, the real poller runtime, settings and health over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import Health
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from factoryos.identity.keys import DerivedKeys
from tests.connectivity.plant_wiring import Plant, build_plant, connection_body
from tests.connectivity.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def runtime(app_engine, settings, tmp_path: Path) -> AsyncIterator[PollerRuntime]:
    # The default health cadence (OK every 5 s, errors every 60 s): what a plant runs.
    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    rt = PollerRuntime(app_engine, keys, tmp_path / "poller", reload_interval=3600, sweep_interval=3600,
                       settings=PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01),
                       sink_backoff=Backoff(0.05, 0.3))
    await rt.start()
    yield rt
    await rt.stop()




def _url(site: Plant) -> str:
    return f"/api/v1/machines/{site.machines[0]['id']}/connection"


async def _health(client: httpx.AsyncClient, site: Plant) -> dict[str, Any]:
    r = await client.get(_url(site), headers=site.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["health"]


async def _health_until(client: httpx.AsyncClient, site: Plant, check: Any, what: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not check(found := await _health(client, site)):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {found}")
        await asyncio.sleep(0.1)
    return found


async def _put(client: httpx.AsyncClient, site: Plant, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.put(_url(site), json=body, headers=site.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["health"]


async def test_new_settings_show_reconnecting_until_the_poller_reports_with_them(
    http, client: httpx.AsyncClient, runtime: PollerRuntime
) -> None:
    site = build_plant(http, 1)
    async with Simulator(1, protocol="modbus", seed=7, modbus_port=free_port(), tick=None) as sim:
        good = connection_body(sim.machine_configs()[0], 0.2)
        wrong = {**good, "endpoint": {**good["endpoint"], "port": free_port()}}  # nobody listens there

        created = await _put(client, site, wrong)
        assert created == {"state": "reconnecting", "last_ok": None, "last_error": None, "error_code": None,
                           "reported_at": None}
        await runtime.reload()
        failing = await _health_until(client, site, lambda h: h["state"] == "error", "the wrong port's error")
        assert failing["last_error"] and failing["error_code"] and failing["last_ok"] is None

        # The fix is saved: from its commit on, the old settings' error is gone.
        saved_at = datetime.now(UTC)
        assert await _put(client, site, good) == created
        assert await _health(client, site) == created
        # A report the old settings' poll made before the save changes nothing.
        assert runtime.sink is not None
        await runtime.sink.write([Health(machine_id=site.poll_id(0), last_ok=None, last_error=failing["last_error"],
                                         error_code=failing["error_code"], at=saved_at - timedelta(seconds=1))])
        assert (await _health(client, site))["state"] == "reconnecting"

        await runtime.reload()
        ok = await _health_until(client, site, lambda h: h["state"] == "ok", "the first good poll")
        assert ok["last_error"] is None and ok["error_code"] is None and ok["last_ok"] and ok["reported_at"]

        # Good polls keep last_ok fresh: within a few seconds, not at the 60 s heartbeat.
        first = datetime.fromisoformat(ok["last_ok"])
        later = await _health_until(client, site, lambda h: datetime.fromisoformat(h["last_ok"]) > first,
                                    "last_ok to move on")
        assert datetime.fromisoformat(later["last_ok"]) - first <= timedelta(seconds=7)

        # Saving the same settings again reconnects nothing, so health stays as reported.
        assert (await _put(client, site, good))["state"] == "ok"
        # Disabled: not polled, and said so.
        assert (await _put(client, site, {**good, "enabled": False}))["state"] == "disabled"
        await client.delete(_url(site), headers=site.owner.headers)
