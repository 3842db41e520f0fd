"""One row per connectivity tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the production seeders: it connects the machine they made.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _connection(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(
        text("insert into machine_connections (tenant_id, machine_id, protocol, endpoint, signals) values "
             "(:t, (select id from machines where tenant_id = :t limit 1), 'modbus', "
             "'{\"host\": \"plc.local\"}', '{}')"),
        {"t": t},
    )


CONNECTIVITY_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "machine_connections": _connection,
}
