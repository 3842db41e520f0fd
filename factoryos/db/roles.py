"""The database roles and the check that keeps the app role unable to bypass RLS.

- owner role: owns every table but the audit trail's, may create in the schema, runs migrations;
- app role: LOGIN, NOSUPERUSER, NOBYPASSRLS, owns nothing; every request runs as it;
- audit role: NOLOGIN, nobody is a member; owns the `public` schema and the audit trail, so
  only a superuser can alter them (see factoryos/db/audit_guard.py).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from factoryos.errors import ConfigError

OWNER_ROLE = "factoryos_owner"
APP_ROLE = "factoryos_app"
AUDIT_ROLE = "factoryos_audit"

_SAFE_ATTRS = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")


class UnsafeDatabaseRole(ConfigError):
    code = "unsafe_database_role"


def libpq_url(url: str) -> str:
    """SQLAlchemy URL → libpq URL for psycopg.connect."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _ensure_role(cur: psycopg.Cursor, role: str, password: str | None) -> None:
    exists = cur.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
    stmt = sql.SQL("{} {} {}").format(verb, sql.Identifier(role), _SAFE_ATTRS)
    if password:
        stmt = sql.SQL("{} PASSWORD {}").format(stmt, sql.Literal(password))
    cur.execute(stmt)


def init_database(
    admin_url: str,
    database: str,
    *,
    owner_password: str | None = None,
    app_password: str | None = None,
) -> None:
    """Create (or repair) both roles, the database and its schema grants. Idempotent."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        cur = conn.cursor()
        _ensure_role(cur, OWNER_ROLE, owner_password)
        _ensure_role(cur, APP_ROLE, app_password)
        # The app role must never inherit the owner's rights.
        cur.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(APP_ROLE)))
        if not cur.execute("select 1 from pg_database where datname = %s", (database,)).fetchone():
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
        db = sql.Identifier(database)
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, sql.Identifier(APP_ROLE)))
        cur.execute(sql.SQL("GRANT ALL ON DATABASE {} TO {}").format(db, sql.Identifier(OWNER_ROLE)))

    target = psycopg.conninfo.make_conninfo(libpq_url(admin_url), dbname=database)
    with psycopg.connect(target, autocommit=True) as conn:
        owner, app = sql.Identifier(OWNER_ROLE), sql.Identifier(APP_ROLE)
        ensure_audit_role(conn)
        # The schema's owner may drop anything in it: not the migration owner, who may create.
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(AUDIT_ROLE)))
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(owner))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app))


def ensure_audit_role(conn: psycopg.Connection) -> None:
    """The NOLOGIN role that owns the audit trail; no FactoryOS role may act as it."""
    if not conn.execute("select 1 from pg_roles where rolname = %s", (AUDIT_ROLE,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOINHERIT").format(sql.Identifier(AUDIT_ROLE)))
    for member in (OWNER_ROLE, APP_ROLE):
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(AUDIT_ROLE), sql.Identifier(member)))


_CHECK_SQL = """
select
  (select rolsuper from pg_roles where rolname = current_user),
  (select rolbypassrls from pg_roles where rolname = current_user),
  (select string_agg(r.rolname, ', ') from pg_roles r
     where r.rolname <> current_user and pg_has_role(current_user, r.oid, 'MEMBER')
       and (r.rolsuper or r.rolbypassrls)),
  (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
       and pg_has_role(current_user, c.relowner, 'MEMBER')),
  current_user
"""


def check_app_role(conn: psycopg.Connection) -> None:
    """Raise UnsafeDatabaseRole when this connection's role could get around RLS."""
    row = conn.execute(_CHECK_SQL).fetchone()
    assert row is not None  # a select without FROM always returns its one row
    superuser, bypass, privileged_memberships, owned, user = row
    problems = []
    if superuser:
        problems.append("is a superuser")
    if bypass:
        problems.append("has BYPASSRLS")
    if privileged_memberships:
        problems.append(f"is a member of privileged roles ({privileged_memberships})")
    if owned:
        problems.append(f"owns (or can act as the owner of) {owned} tables")
    if problems:
        raise UnsafeDatabaseRole(
            f"refusing to start: database role {user!r} " + " and ".join(problems)
            + f". The server must connect as the {APP_ROLE} role (see `factoryos db init`)."
        )
