"""Counted limits in a company: what exists now, checked before something is added."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, Table, func, select

from factoryos.licensing.document import License
from factoryos.licensing.gating import LimitKind, require_room
from factoryos.schema.identity import memberships
from factoryos.schema.plant import machines, sites

COUNTED: dict[str, Table] = {"machines": machines, "sites": sites, "users": memberships}


def in_use(conn: Connection, tenant_id: UUID, kind: LimitKind) -> int:
    counted = COUNTED[kind]
    return conn.execute(select(func.count()).select_from(counted).where(counted.c.tenant_id == tenant_id)).scalar_one()


def require_room_in_company(conn: Connection, tenant_id: UUID, document: License | None, kind: LimitKind) -> None:
    """Refuse one more `kind` past the limit. Counts are per company (what this transaction may see).

    A transaction-scoped advisory lock per company and kind serialises concurrent adds, so two
    requests cannot both take the last free place.
    """
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"license:{kind}:{tenant_id}", 0))))
    require_room(document, kind, in_use(conn, tenant_id, kind))
