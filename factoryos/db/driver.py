"""Statements run on the driver (psycopg) connection under a SQLAlchemy one, in its transaction.

The request hot path sends a few large hand-written statements whose rows SQLAlchemy would only
re-describe on every execution (a text statement's columns are not known before it runs). Going
to psycopg directly skips that work; the statement text is kept short enough for psycopg to
cache its parsing (`compact`), and psycopg prepares it on the server after a few runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Connection


def compact(sql: str) -> str:
    """`sql` with its runs of white space made one space (so: no `--` comments in it)."""
    if "--" in sql:
        raise ValueError("a compacted statement cannot hold -- comments")
    return " ".join(sql.split())


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under `conn` (checked out: SQLAlchemy's pool hands out psycopg ones)."""
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)


def fetch_one(conn: Connection, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of `sql` (psycopg `%(name)s` parameters) as a dict, or None."""
    with psycopg_connection(conn).cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchone()
