"""Fixtures shared by the connectivity tests: a fast poller runtime, an async client, and for the
connection API tests a spec-checked client, a company and a machine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.identity.keys import DerivedKeys
from tests.accounts import Session, new_company
from tests.connectivity.mqtt_broker import Broker, running_broker
from tests.production import plant
from tests.production.spec_check import SpecChecker

FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)


@pytest.fixture
async def runtime(app_engine, settings, tmp_path: Path) -> AsyncIterator[PollerRuntime]:
    """Reloads and sweeps every 0.3 s, quick back-off: the tests wait seconds, not minutes."""
    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    rt = PollerRuntime(app_engine, keys, tmp_path / "poller", reload_interval=0.3, sweep_interval=0.3,
                       sweep_lag=0.3, settings=FAST, sink_backoff=Backoff(0.05, 0.3))
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
async def client(live_server) -> AsyncIterator[httpx.AsyncClient]:
    # Async, so the simulators and the poller in this event loop keep running while we wait.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real Mosquitto on loopback (plain and TLS listeners, username/password), one per module."""
    with running_broker(tmp_path_factory.mktemp("mosquitto")) as running:
        yield running


def connection_url(machine: dict) -> str:
    return f"/api/v1/machines/{machine['id']}/connection"


@pytest.fixture()
def api(live_server, http: httpx.Client) -> Iterator[httpx.Client]:
    """A client whose every answer must match the published OpenAPI document."""
    checker = SpecChecker(http.get("/api/v1/openapi.json").json())
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [checker.check]}) as client:
        yield client


@pytest.fixture()
def owner(api: httpx.Client) -> Session:
    return new_company(api)


@pytest.fixture()
def machine(api: httpx.Client, owner: Session) -> Iterator[dict]:
    made = plant.machine(api, owner, plant.site(api, owner)["id"])
    yield made
    api.delete(connection_url(made), headers=owner.headers)  # leave nothing for later tests' pollers
