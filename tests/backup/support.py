"""Helpers shared by the backup tests (and the audit route walk): apps that can take backups."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, make_url, pool, text
from starlette.applications import Starlette

from factoryos.backup.standby import REPLICATION_ROLE, clone, create_replication_role
from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.db.roles import APP_ROLE
from factoryos.licensing import Edition, License, Limits
from factoryos.licensing.signing import sign_license
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, make_installation_admin
from tests.conftest import LiveServer, free_port


def sql(url: str, statement: str) -> object:
    """One statement on its own connection (autocommit): its first value, if it returns rows."""
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(statement))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


@contextmanager
def primary_and_standby(root: Path, password: str, *prepare: str) -> Iterator[tuple[EmbeddedPostgres,
                                                                                  EmbeddedPostgres]]:
    """A primary in `root`/a (`prepare` run on it first) and its streaming standby in `root`/b, cloned over
    the replication role with `password`; both stopped after (a test may stop the standby sooner)."""
    primary = EmbeddedPostgres(root / "a").start()
    standby: EmbeddedPostgres | None = None
    try:
        for statement in prepare:
            sql(primary.url(), statement)
        create_replication_role(primary.url(), password)
        clone(make_url(primary.url()).set(username=REPLICATION_ROLE, password=password).render_as_string(
            hide_password=False), root / "b" / "pg")  # fmt: skip
        standby = EmbeddedPostgres(root / "b").start()
        yield primary, standby
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()


def backup_settings(data_dir: Path, database: str, **over: object) -> Settings:
    """No schedule unless a test asks: backups happen when the test says so."""
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": "backup-test-secret-" + "k" * 32,
                                 "backup_interval_hours": 0, "database_name": database,
                                 "wal_archive": False}  # fmt: skip
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

A = TypeVar("A")


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


def signed_license(key: Ed25519PrivateKey, *, machines: int = 2, users: int = 2, sites: int = 1,
                   expires: dt.datetime | None = None, customer: str = "Acme Metal",
                   license_id: str | None = None) -> str:  # fmt: skip
    """License text signed with the tests' own key (see the `vendor_key` fixtures)."""
    now = dt.datetime.now(dt.UTC)
    document = License(
        license_id=license_id or f"L-{uuid.uuid4().hex[:8]}",
        customer=customer,
        edition=Edition.ADVANCED,
        limits=Limits(machines=machines, users=users, sites=sites),
        issued_at=now - dt.timedelta(days=30),
        expires_at=expires or now + dt.timedelta(days=365),
    )
    return sign_license(document, key)


def app_of(server: LiveServer) -> Starlette:
    """The app a live server runs (to look at or hold its state in-process)."""
    return server.server.config.app


def wait_for_restore(http: httpx.Client, headers: dict[str, str], job_id: str, timeout: float = 180) -> dict:
    """Poll a restore job until it ends; 503 answers while the database is swapped are expected."""
    deadline = time.monotonic() + timeout
    while True:
        r = http.get(f"/api/v1/backup/restore/{job_id}", headers=headers)
        if r.status_code == 200 and r.json()["state"] != "running":
            return r.json()
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert r.json()["code"] in ("maintenance", "database_unavailable"), r.text
        assert time.monotonic() < deadline, f"restore {job_id} still running"
        time.sleep(0.1)


def installation_admin(server: LiveServer, account: A) -> A:
    """`account` (an owner made over the API) made an installation administrator of `server`."""
    make_installation_admin(app_of(server).state.engine, account.email)
    return account
