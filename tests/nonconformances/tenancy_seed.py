"""One row per nonconformances tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the core, production and orders seeders: a member, a session, a machine and a product exist.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text

_USER = "(select user_id from memberships where tenant_id = :t limit 1)"


def _signature(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text(
        "insert into signatures (tenant_id, record_type, record_id, signer_id, signer_name, signer_email, meaning, "
        f"content_hash, content, method) select :t, 'nonconformance', gen_random_uuid(), {_USER}, :n, 'seed@example.com', "
        "'approved', repeat('b', 64), '{}'::jsonb, 'password'"), {"t": t, "n": f"Seed {tag}"})


def _signature_failure(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text(f"insert into signature_failures (tenant_id, session_id, user_id, failures) "
                      f"select :t, gen_random_uuid(), {_USER}, 1"), {"t": t})


def _nonconformance(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into nonconformances (tenant_id, number, machine_id, quantity, description) "
                      "select :t, 1, id, 3, :d from machines where tenant_id = :t limit 1"),
                 {"t": t, "d": f"Burr on edge {tag}"})


def _nonconformance_event(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into nonconformance_events (tenant_id, nonconformance_id, kind, to_status) "
                      "select :t, id, 'opened', 'open' from nonconformances where tenant_id = :t limit 1"), {"t": t})


def _capa(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into capas (tenant_id, number, title, problem) values (:t, 1, :n, 'Burrs')"),
                 {"t": t, "n": f"Burrs {tag}"})


def _capa_nonconformance(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into capa_nonconformances (tenant_id, capa_id, nonconformance_id) "
                      "select :t, c.id, n.id from capas c, nonconformances n "
                      "where c.tenant_id = :t and n.tenant_id = :t limit 1"), {"t": t})


def _capa_action(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text(f"insert into capa_actions (tenant_id, capa_id, kind, description, owner_id, due_date) "
                      f"select :t, id, 'corrective', 'Deburr tool', {_USER}, current_date from capas "
                      "where tenant_id = :t limit 1"), {"t": t})


NONCONFORMANCES_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "signatures": _signature,
    "signature_failures": _signature_failure,
    "nonconformances": _nonconformance,
    "nonconformance_events": _nonconformance_event,
    "capas": _capa,
    "capa_nonconformances": _capa_nonconformance,
    "capa_actions": _capa_action,
}
