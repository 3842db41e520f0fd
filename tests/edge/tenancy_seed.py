"""One row per site-edge tenant table for the isolation matrix (tests/tenancy_seed.py)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _edge(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into edges (tenant_id, site_id, name, secret_hash) "
             "select :t, (select id from sites where tenant_id = :t order by created_at, id limit 1), :n, '$7$101$x$y'"),
        {"t": tenant, "n": f"Edge {tag}"},
    )


EDGE_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {"edges": _edge}
