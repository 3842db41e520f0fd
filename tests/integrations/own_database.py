"""A database of a module's own on the session's cluster, migrated to head and dropped at the end:
for tests whose server must be the only one working on its deliveries (no other server's webhook
worker takes them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, pool

from factoryos.db.audit_guard import upgrade_guarded
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls, embedded_urls
from factoryos.db.roles import init_database


@dataclass(frozen=True)
class OwnDatabase:
    urls: DatabaseUrls
    app_engine: Engine  # the app role, under RLS
    superuser: Engine


@contextmanager
def own_database(pg: EmbeddedPostgres) -> Iterator[OwnDatabase]:
    name = f"fo_{uuid.uuid4().hex[:10]}"
    urls = embedded_urls(pg, name)
    init_database(urls.admin, name)
    upgrade_guarded(urls.admin, urls.owner, name)
    app_engine = create_engine(urls.app, poolclass=pool.NullPool)
    superuser = create_engine(pg.url("postgres", name), poolclass=pool.NullPool)
    try:
        yield OwnDatabase(urls, app_engine, superuser)
    finally:
        app_engine.dispose()
        superuser.dispose()
        admin = create_engine(pg.url("postgres", "postgres"), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
