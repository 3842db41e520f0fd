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


def _counter_state(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(
        text("insert into machine_counter_state (tenant_id, machine_id, signal, raw, read_at) values "
             "(:t, (select id from machines where tenant_id = :t limit 1), 'good', 42, '2026-03-02 08:00Z')"),
        {"t": t},
    )


def _counter_anomaly(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(
        text("insert into counter_anomalies (tenant_id, machine_id, signal, previous_raw, raw, previous_at, "
             "detected_at, delta, allowed, key) values (:t, (select id from machines where tenant_id = :t limit 1), "
             "'good', 42, 1000042, '2026-03-02 08:00Z', '2026-03-02 08:00:01Z', 1000000, 3, :k)"),
        {"t": t, "k": f"seed|{tag}"},
    )


CONNECTIVITY_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "machine_connections": _connection,
    "machine_counter_state": _counter_state,
    "counter_anomalies": _counter_anomaly,
}
