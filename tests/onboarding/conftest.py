"""The real app over HTTP, every JSON answer checked against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.accounts import Session, new_company
from tests.production.spec_check import SpecChecker


@pytest.fixture(scope="session")
def spec(live_server) -> SpecChecker:
    with httpx.Client(base_url=live_server.url) as client:
        return SpecChecker(client.get("/api/v1/openapi.json").json())


@pytest.fixture()
def api(live_server, spec: SpecChecker) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60, event_hooks={"response": [spec.check]}) as client:
        yield client


@pytest.fixture()
def owner(api: httpx.Client) -> Session:
    return new_company(api)
