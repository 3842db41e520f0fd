"""A client of the session server (tests/conftest.py) and a small plant made through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accounts import PASSWORD, Session, join, new_company
from tests.backup.support import Island, island_settings, start_server
from tests.conftest import LiveServer
from tests.production import plant
from tui.app import FactoryApp, make_app


@pytest.fixture(scope="session")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@dataclass
class Plant:
    """One company with a site whose shift always runs, two machines and an operator."""

    owner: Session
    operator: Session
    site: dict[str, Any]
    line: dict[str, Any]
    machines: list[dict[str, Any]]
    shift: dict[str, Any]

    @property
    def password(self) -> str:
        return PASSWORD


def build_plant(api: httpx.Client, *, codes: tuple[str, ...] = ("PRESS-01", "LATHE-02")) -> Plant:
    owner = new_company(api, timezone="UTC")
    operator = join(api, owner, "operator")
    site = plant.site(api, owner, timezone="UTC", name="Main plant")
    line = plant.line(api, owner, site["id"], name="Line A", code="LINE-A")
    # A fast ideal cycle so small test quantities stay plausible however early in the shift.
    machines = [plant.machine(api, owner, site["id"], cycle="0.001", code=c, name=f"Machine {c}",
                              line_id=line["id"]) for c in codes]
    shift = plant.shift(api, owner, site["id"], "Day", "00:00", "00:00")  # 24 h: one is always running
    for who in (owner, operator):
        plant.operator(api, owner, site["id"], who.user_id)
    return Plant(owner, operator, site, line, machines, shift)


@pytest.fixture()
def world(api: httpx.Client) -> Plant:
    return build_plant(api)


@pytest.fixture()
def app_factory(tmp_path: Path, live_server: LiveServer):
    def factory(server: str | None = None, **options: Any) -> FactoryApp:
        return make_app(server=server or live_server.url, config_path=tmp_path / "client.json",
                        outbox_dir=tmp_path / "outbox", **options)

    return factory


@dataclass
class OpsServer:
    """A server on the island database (restores replace it) with its own data directory
    (license file, backups) and the superuser URL backups need."""

    server: LiveServer
    data_dir: Path
    api: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"


@pytest.fixture()
def ops_server(island: Island, tmp_path: Path) -> Iterator[OpsServer]:
    data_dir = tmp_path / "server-data"
    server = start_server(island, island_settings(data_dir))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield OpsServer(server, data_dir, client)
    finally:
        server.stop()
