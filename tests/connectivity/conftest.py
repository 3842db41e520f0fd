"""Fixtures shared by the poller-to-database tests: a fast poller runtime and an async client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.identity.keys import DerivedKeys
from tests.connectivity.mqtt_broker import Broker, running_broker

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
