"""One row per shift handover table for the isolation matrix (tests/tenancy_seed.py).

Runs after the production seeders: both rows belong to the shift instance they made.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _note(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into shift_handover_notes (tenant_id, shift_instance_id, author_id, body) "
                      "select :t, s.id, m.user_id, :b from shift_instances s, memberships m "
                      "where s.tenant_id = :t and m.tenant_id = :t limit 1"), {"t": t, "b": f"Press {tag} sticks"})


def _signoff(conn: Connection, t: UUID, tag: str) -> None:
    conn.execute(text("insert into shift_signoffs (tenant_id, shift_instance_id, signer_id, signer_name, meaning, "
                      "content_hash) select :t, s.id, m.user_id, :n, 'reviewed', repeat('a', 64) "
                      "from shift_instances s, memberships m where s.tenant_id = :t and m.tenant_id = :t limit 1"),
                 {"t": t, "n": f"Seed {tag}"})


REPORTS_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "shift_handover_notes": _note,
    "shift_signoffs": _signoff,
}
