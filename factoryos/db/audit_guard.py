"""The audit trail out of the migration owner's reach: only the superuser can alter it.

The owner role runs migrations and so owns the tables it creates; whoever owns a table (or
the schema it lives in) can disable its triggers, drop them, truncate or drop the table. For
the audit tables that would make "append-only" a promise only as good as the owner role's
password. So after migrations, the superuser hands them to `factoryos_audit`, a NOLOGIN role
nobody is a member of:

- the audit tables (and every monthly partition), the functions that guard them and create
  partitions (SECURITY DEFINER, so the app role can still prepare partitions, now as that role);
- the `public` schema itself: its owner may drop anything in it, so the migration owner gets
  USAGE and CREATE on it instead of owning it.

Grants, RLS policies and triggers stay as the migrations made them. Migrations that change an
audit table must therefore run with a superuser at hand: `factoryos db upgrade|downgrade` hand
the tables back to the owner for the duration when a superuser URL is configured (embedded mode
always has one) and take them away again afterwards. What remains: a PostgreSQL superuser can
still do anything; the signed anchors (factoryos/audit/anchors.py) are what catch that.
"""

from __future__ import annotations

from typing import LiteralString

import psycopg
from psycopg import sql

from factoryos.db.roles import AUDIT_ROLE, OWNER_ROLE, ensure_audit_role, libpq_url
_TABLES = ("audit_log", "audit_chain_heads", "audit_anchors")
_FUNCTIONS = ("audit_log_deny()", "audit_ensure_partitions(integer)", "audit_protect_partition(text)")


def _connect(admin_url: str, database: str) -> psycopg.Connection:
    return psycopg.connect(psycopg.conninfo.make_conninfo(libpq_url(admin_url), dbname=database), autocommit=True)


def _value(conn: psycopg.Connection, query: LiteralString, params: tuple[object, ...] | None = None) -> object:
    """The value of a one-value lookup such as to_regclass (always one row; NULL when absent)."""
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def _objects(conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    """The audit tables and partitions present, and the guarding functions present."""
    tables = [name for (name,) in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' and c.relkind in ('r', 'p') and (c.relname = any(%s) "
        "or c.oid in (select inhrelid from pg_inherits where inhparent = 'public.audit_log'::regclass))",
        (list(_TABLES),),
    ).fetchall()] if _value(conn, "select to_regclass('public.audit_log')") else []
    functions = [f for f in _FUNCTIONS if _value(conn, "select to_regprocedure(%s)", (f"public.{f}",))]
    return tables, functions


def _hand_to(conn: psycopg.Connection, role: str) -> int:
    tables, functions = _objects(conn)
    target = sql.Identifier(role)
    for table in tables:
        conn.execute(sql.SQL("ALTER TABLE public.{} OWNER TO {}").format(sql.Identifier(table), target))
    for function in functions:
        conn.execute(sql.SQL("ALTER FUNCTION public.{} OWNER TO {}").format(sql.SQL(function), target))
    return len(tables) + len(functions)


def secure_audit(admin_url: str, database: str) -> int:
    """Give the audit objects and the public schema to the audit role; returns objects handed over."""
    with _connect(admin_url, database) as conn:
        ensure_audit_role(conn)
        audit, owner = sql.Identifier(AUDIT_ROLE), sql.Identifier(OWNER_ROLE)
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(audit))
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(owner))
        if _value(conn, "select to_regclass('public.companies')"):
            # New monthly partitions, made by the audit role, carry audit_log's foreign key.
            conn.execute(sql.SQL("GRANT REFERENCES ON public.companies TO {}").format(audit))
        return _hand_to(conn, AUDIT_ROLE)


def release_audit(admin_url: str, database: str) -> int:
    """Hand the audit objects back to the owner role, for a migration that changes them."""
    with _connect(admin_url, database) as conn:
        ensure_audit_role(conn)
        return _hand_to(conn, OWNER_ROLE)


def upgrade_guarded(admin_url: str | None, owner_url: str, database: str, revision: str = "head") -> None:
    """Migrate as the owner, the audit objects handed back to it for the duration when a
    superuser is at hand (a migration may change them), and away from it afterwards."""
    from factoryos.db import migrate

    if admin_url:
        release_audit(admin_url, database)
    migrate.upgrade(owner_url, revision)
    if admin_url:
        secure_audit(admin_url, database)


def downgrade_guarded(admin_url: str | None, owner_url: str, database: str, revision: str) -> None:
    from factoryos.db import migrate

    if admin_url:
        release_audit(admin_url, database)
    migrate.downgrade(owner_url, revision)
    if admin_url:
        secure_audit(admin_url, database)
