"""Pieces NCs and CAPAs share: per-company numbers, names, newest-first pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, Table, and_, func, or_, select, text

from factoryos.db.repository import decode_cursor, encode_cursor
from factoryos.schema.identity import users

# Second key of the advisory locks that serialise numbering (one per company and table).
_LOCK_CLASS = 0x0A0C15
_LOCK = text("select pg_advisory_xact_lock(:cls, hashtext(:key))")


def next_number(conn: Connection, table: Table, tenant_id: UUID) -> int:
    """The company's next number for `table` (NC-1, NC-2, …), taken under a lock held until commit."""
    conn.execute(_LOCK, {"cls": _LOCK_CLASS, "key": f"{table.name}:{tenant_id}"})
    last = conn.execute(select(func.max(table.c.number)).where(table.c.tenant_id == tenant_id)).scalar()
    return (last or 0) + 1


def user_names(conn: Connection, ids: Iterable[UUID | None]) -> dict[UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email).where(users.c.id.in_(wanted)))
    return {r.id: r.display_name or r.email for r in rows}


def newest_first(conn: Connection, table: Table, where: list[Any], cursor: str | None,
                 limit: int) -> tuple[list[RowMapping], str | None]:
    """One page, newest first (keyset on created_at, id), and the next page's cursor."""
    if cursor:
        created, row_id = decode_cursor(cursor)
        where = [*where, or_(table.c.created_at < created, and_(table.c.created_at == created, table.c.id < row_id))]
    stmt = select(table).where(*where).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = list(conn.execute(stmt).mappings())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
