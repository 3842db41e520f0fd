"""SQLAlchemy engines for the app and owner roles, in embedded or external mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import URL, Engine, create_engine
from sqlalchemy.pool import NullPool

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.roles import APP_ROLE, OWNER_ROLE, init_database
from factoryos.errors import ConfigError


@dataclass(frozen=True)
class DatabaseUrls:
    app: str
    owner: str | None
    admin: str | None


CONNECT_TIMEOUT = 5  # s; libpq's connect_timeout covers the TCP connect, TLS and authentication
POOL_TIMEOUT = 30.0  # s a request waits for a free pooled connection before it fails
# Health checks must answer a load balancer within 2 s, database or not.
HEALTH_CONNECT_TIMEOUT = 2  # libpq treats anything shorter as 2 s
HEALTH_STATEMENT_TIMEOUT_MS = 1000


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "factoryos",
                pool_timeout: float = POOL_TIMEOUT, pre_ping: bool = True) -> Engine:
    """An engine with a pool. `pre_ping=False` (the server's request engine) saves a round trip per
    checkout: its caller must instead retry a first statement that finds its connection dropped."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        connect_args={"application_name": application_name, "connect_timeout": CONNECT_TIMEOUT},
    )


def health_engine(url: str | URL, *, application_name: str = "factoryos-health") -> Engine:
    """An engine for health checks: bounded connect and statement time, and no pool.

    Without a pool there is no wait for a connection that busy requests hold, no stale pooled
    connection to ping, and nothing left open between checks that would keep a database a restore
    replaces. The server enforces the statement timeout, so a database that does not run at all
    (stopped, frozen, cut off) still needs a deadline on the caller's side: `DatabaseProbe`.
    """
    options = f"-c statement_timeout={HEALTH_STATEMENT_TIMEOUT_MS} -c lock_timeout={HEALTH_STATEMENT_TIMEOUT_MS}"
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={"application_name": application_name, "connect_timeout": HEALTH_CONNECT_TIMEOUT,
                      "options": options},
    )


def external_urls(settings: Settings) -> DatabaseUrls:
    if not settings.database_url:
        raise ConfigError("FACTORYOS_DATABASE_URL is not set")
    return DatabaseUrls(settings.database_url, settings.owner_database_url, settings.admin_database_url)


def embedded_urls(pg: EmbeddedPostgres, database: str) -> DatabaseUrls:
    return DatabaseUrls(
        app=pg.url(APP_ROLE, database),
        owner=pg.url(OWNER_ROLE, database),
        admin=pg.url("postgres", "postgres"),
    )


@contextmanager
def database(settings: Settings, *, prepare: bool = False) -> Iterator[DatabaseUrls]:
    """Yield the URLs of the configured database.

    In embedded mode the cluster is started for the duration of the block. With
    `prepare`, an embedded cluster is initialised (roles, database) and migrated to
    head, which is what a first `factoryos serve` on a fresh machine needs.
    """
    if not settings.embedded:
        yield external_urls(settings)
        return
    pg = EmbeddedPostgres(settings.data_dir).start()
    try:
        urls = embedded_urls(pg, settings.database_name)
        if prepare:
            from factoryos.db.audit_guard import upgrade_guarded

            assert urls.admin is not None and urls.owner is not None  # embedded_urls fills both
            init_database(urls.admin, settings.database_name)
            upgrade_guarded(urls.admin, urls.owner, settings.database_name)
        yield urls
    finally:
        pg.stop()


@contextmanager
def admin_engine(settings: Settings) -> Iterator[Engine]:
    """Superuser engine on the FactoryOS database for host-side admin commands.

    It bypasses RLS by design (chain verification, exports across companies), so only
    commands run by an administrator on the server host use it, never the API.
    """
    from sqlalchemy import make_url, pool

    with database(settings) as urls:
        if not urls.admin:
            raise ConfigError(
                "FACTORYOS_ADMIN_DATABASE_URL is not set: this command runs on the server host as the database superuser"
            )
        url = make_url(urls.admin).set(database=settings.database_name)
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            yield engine
        finally:
            engine.dispose()
