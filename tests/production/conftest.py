"""The session server (tests/conftest.py) over HTTP with every JSON response checked against
the published OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.production.spec_check import SpecChecker


@pytest.fixture(scope="session")
def spec(live_server: LiveServer) -> SpecChecker:
    with httpx.Client(base_url=live_server.url) as client:
        return SpecChecker(client.get("/api/v1/openapi.json").json())


@pytest.fixture(scope="session")
def api(live_server: LiveServer, spec: SpecChecker) -> Iterator[httpx.Client]:
    """An HTTP client whose every response must match the OpenAPI document."""
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [spec.check]}) as client:
        yield client
