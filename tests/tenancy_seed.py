"""One valid row per tenant table, for the isolation matrix.

Every table with a tenant_id column must have a seeder here: the matrix fails on a table
it cannot seed, so a new tenant table cannot slip through untested. Seeders run as the
superuser (no RLS) and may rely on tables seeded before them (dict order).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _company(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(text("insert into companies (tenant_id, name) values (:t, :n)"), {"t": tenant, "n": f"Company {tag}"})


def _site(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into sites (tenant_id, name, code, timezone) values (:t, :n, :c, 'Europe/Berlin')"),
        {"t": tenant, "n": f"Site {tag}", "c": f"S-{tag}"},
    )


def _idempotency_key(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into idempotency_keys (tenant_id, key, request_hash, status_code) values (:t, :k, 'h', 200)"),
        {"t": tenant, "k": f"key-{tag}-{uuid.uuid4().hex}"},
    )


SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "companies": _company,
    "sites": _site,
    "idempotency_keys": _idempotency_key,
}


def seed_tenant(conn: Connection, tenant: UUID, tag: str) -> None:
    for seeder in SEEDERS.values():
        seeder(conn, tenant, tag)
