"""The server refuses any database role that could get around row-level security."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from psycopg import sql

from factoryos.db.roles import APP_ROLE, OWNER_ROLE, UnsafeDatabaseRole, check_app_role, libpq_url


@pytest.fixture()
def temp_role(pg, db_urls):
    """Make a throwaway LOGIN role with the given extra attributes / memberships."""
    made: list[str] = []

    def make(attrs: str = "", member_of: str | None = None) -> str:
        name = f"probe_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(libpq_url(db_urls.admin), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + attrs).format(sql.Identifier(name)))
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE factoryos_test TO {}").format(sql.Identifier(name)))
            if member_of:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), sql.Identifier(name)))
        made.append(name)
        return pg.url(name, "factoryos_test")

    yield make
    with psycopg.connect(libpq_url(db_urls.admin), autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE factoryos_test FROM {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _check(url: str) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        check_app_role(conn)


def test_app_role_is_accepted_and_has_safe_attributes(db_urls) -> None:
    _check(db_urls.app)
    with psycopg.connect(libpq_url(db_urls.admin)) as conn:
        row = conn.execute(
            "select rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb from pg_roles where rolname = %s",
            (APP_ROLE,),
        ).fetchone()
    assert row == (False, False, True, False, False)


@pytest.mark.parametrize(
    ("attrs", "member_of", "reason"),
    [
        ("SUPERUSER", None, "superuser"),
        ("BYPASSRLS", None, "BYPASSRLS"),
        ("", OWNER_ROLE, "owns"),
    ],
)
def test_unsafe_roles_are_refused(temp_role, attrs, member_of, reason) -> None:
    with pytest.raises(UnsafeDatabaseRole, match=reason):
        _check(temp_role(attrs, member_of))


def test_owner_role_is_refused(db_urls) -> None:
    with pytest.raises(UnsafeDatabaseRole, match="owns"):
        _check(db_urls.owner)


def test_app_startup_fails_for_a_superuser_url(settings, db_urls) -> None:
    from server.app import create_app

    app = create_app(settings, db_urls.admin.replace("/postgres?", "/factoryos_test?"))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(UnsafeDatabaseRole, match="superuser"):
        asyncio.run(start())


def test_serve_refuses_owner_role_with_one_red_line(db_urls, tmp_path) -> None:
    env = {**os.environ, "FACTORYOS_DATABASE_URL": db_urls.owner, "FACTORYOS_DATA_DIR": str(tmp_path), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "refusing to start" in lines[0] and "owns" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
