"""Helpers shared by the backup tests (and the audit route walk): apps that can take backups."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.db.roles import APP_ROLE
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST
from tests.conftest import LiveServer, free_port


def backup_settings(data_dir: Path, database: str, **over: object) -> Settings:
    """No schedule unless a test asks: backups happen when the test says so."""
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": "backup-test-secret-" + "k" * 32,
                                 "backup_interval_hours": 0, "database_name": database}  # fmt: skip
    return Settings(**(values | over))


def start_app(app_url: str, settings: Settings, backup_url: str | None) -> LiveServer:
    app = create_app(
        settings, app_url, authenticator=TokenAuthenticator.from_settings(settings, FAST), backup_url=backup_url
    )
    return LiveServer(app, free_port()).start()


@contextmanager
def backup_server(superuser_url: str) -> Iterator[LiveServer]:
    """A second app on the database of `superuser_url` (a superuser on the FactoryOS database)
    that can take backups, into a throw-away directory."""
    url = make_url(superuser_url)
    app_url = url.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="factoryos-backup-") as data_dir:
        server = start_app(app_url, backup_settings(Path(data_dir), url.database or ""), superuser_url)
        try:
            yield server
        finally:
            server.stop()


DATABASE = "factoryos"


@dataclass(frozen=True)
class Island:
    pg: EmbeddedPostgres
    urls: DatabaseUrls

    @property
    def source_url(self) -> str:
        """Superuser on the FactoryOS database: what backups run as."""
        return self.pg.url("postgres", DATABASE)


def island_settings(data_dir: Path, **over: object) -> Settings:
    return backup_settings(data_dir, DATABASE, **over)


def start_server(island: Island, settings: Settings, *, backups: bool = True) -> LiveServer:
    return start_app(island.urls.app, settings, island.source_url if backups else None)
