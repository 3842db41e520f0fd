"""Backup tests run on the "island" (tests/conftest.py): restores replace its database,
which the session cluster's other users must never see. The real app runs on it over HTTP."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backup.support import DATABASE, Island, island_settings, start_server
from tests.conftest import LiveServer


@pytest.fixture(scope="session")
def island_data_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="factoryos-backup-data-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def island_server(island: Island, island_data_dir: Path) -> Iterator[LiveServer]:
    server = start_server(island, island_settings(island_data_dir))
    yield server
    server.stop()


@pytest.fixture()
def api(island_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=island_server.url, timeout=60) as client:
        yield client


@pytest.fixture()
def cli_env(island: Island, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`factoryos backup …` against the island as an external database; returns the backup dir."""
    backups = tmp_path / "backups"
    monkeypatch.setenv("FACTORYOS_DATABASE_URL", island.urls.app)
    monkeypatch.setenv("FACTORYOS_ADMIN_DATABASE_URL", island.urls.admin or "")
    monkeypatch.setenv("FACTORYOS_DATABASE_NAME", DATABASE)
    monkeypatch.setenv("FACTORYOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FACTORYOS_BACKUP_DIR", str(backups))
    return backups
