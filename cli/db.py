"""`factoryos db …`: create roles, run and inspect migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from factoryos.config import Settings
from factoryos.db import migrate
from factoryos.db.audit_guard import downgrade_guarded, secure_audit, upgrade_guarded
from factoryos.db.engine import DatabaseUrls, database
from factoryos.db.roles import init_database
from cli.output import console, fail, ok

app = typer.Typer(help="Database roles and migrations.", no_args_is_help=True)


@contextmanager
def _owner_db(settings: Settings) -> Iterator[DatabaseUrls]:
    with database(settings) as urls:
        if settings.embedded:
            init_database(urls.admin, settings.database_name)
        elif not urls.owner:
            fail("FACTORYOS_OWNER_DATABASE_URL is not set: migrations run as the owner role")
        yield urls


@app.command("init")
def init() -> None:
    """Create the owner and app roles, the database and its grants (idempotent)."""
    settings = Settings()
    with database(settings) as urls:
        if not urls.admin:
            fail("FACTORYOS_ADMIN_DATABASE_URL is not set: `db init` needs a superuser connection")
        owner_pw = settings.owner_db_password.get_secret_value() if settings.owner_db_password else None
        app_pw = settings.app_db_password.get_secret_value() if settings.app_db_password else None
        if not settings.embedded and not (owner_pw and app_pw):
            fail("set FACTORYOS_OWNER_DB_PASSWORD and FACTORYOS_APP_DB_PASSWORD for the two database roles")
        init_database(urls.admin, settings.database_name, owner_password=owner_pw, app_password=app_pw)
        secured = secure_audit(urls.admin, settings.database_name)  # an upgrade run without a superuser
    ok(f"database {settings.database_name!r} and roles ready" + (f"; audit trail owned by the audit role "
       f"({secured} objects)" if secured else ""))


@app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the schema up (to head by default)."""
    settings = Settings()
    with _owner_db(settings) as urls:
        upgrade_guarded(urls.admin, urls.owner, settings.database_name, revision)
        ok(f"schema at {migrate.current(urls.owner)}")
        if not urls.admin:
            console.print("[yellow]no superuser URL (FACTORYOS_ADMIN_DATABASE_URL): the audit tables stay owned "
                          "by the owner role until `factoryos db init` runs with one[/]")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for an empty schema.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Migrate the schema down to REVISION (drops the data of later revisions)."""
    if not yes and not typer.confirm(f"Downgrade to {revision}? Data in later revisions is dropped"):
        fail("aborted")
    settings = Settings()
    with _owner_db(settings) as urls:
        downgrade_guarded(urls.admin, urls.owner, settings.database_name, revision)
        ok(f"schema at {migrate.current(urls.owner) or 'base'}")


@app.command("current")
def current() -> None:
    """Show the schema revision and the newest one this version ships."""
    settings = Settings()
    with _owner_db(settings) as urls:
        now, head = migrate.current(urls.owner), migrate.head_revision()
    console.print(f"current: {now or 'base (empty)'}\nhead:    {head}")
    if now != head:
        console.print("[yellow]run `factoryos db upgrade`[/]")
