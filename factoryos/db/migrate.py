"""Alembic, driven programmatically; migrations ship inside the package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(owner_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if owner_url:
        # ConfigParser interpolation would choke on '%' in passwords.
        cfg.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision shipped (cached: the scripts do not change while we run)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {heads}")
    return heads[0]


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(owner_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url), revision)


def downgrade(owner_url: str, revision: str) -> None:
    command.downgrade(alembic_config(owner_url), revision)


def current(owner_url: str) -> str | None:
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()
