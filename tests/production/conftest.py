"""The real app over HTTP (cheap password hashing for speed) with every JSON response
checked against the published OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from factoryos.identity.policy import IdentityPolicy
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.conftest import LiveServer, free_port
from tests.production.spec_check import SpecChecker

FAST = IdentityPolicy(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)


@pytest.fixture(scope="session")
def live_server(settings, db_urls) -> Iterator[LiveServer]:
    app = create_app(settings, db_urls.app, authenticator=TokenAuthenticator.from_settings(settings, FAST))
    server = LiveServer(app, free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spec(live_server: LiveServer) -> SpecChecker:
    with httpx.Client(base_url=live_server.url) as client:
        return SpecChecker(client.get("/api/v1/openapi.json").json())


@pytest.fixture(scope="session")
def api(live_server: LiveServer, spec: SpecChecker) -> Iterator[httpx.Client]:
    """An HTTP client whose every response must match the OpenAPI document."""
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [spec.check]}) as client:
        yield client
