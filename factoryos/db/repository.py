"""Tenant-scoped repository base: the application-layer half of tenant isolation.

RLS already hides other tenants' rows; every query here also filters on tenant_id, so
a leak needs both layers to fail.

A repository names the record type its rows come back as: a TypedDict mirroring the table
(e.g. `Machines(TenantRepository[MachineRecord])`, checked against the table's columns by
tests/foundation/test_records.py) where rows cross module boundaries, so a checker knows every
column's name and type; plain `RowMapping` elsewhere. Records are read-only views of the row.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, cast
from uuid import UUID

from sqlalchemy import Connection, RowMapping, Table, and_, delete, insert, or_, select, update
from sqlalchemy.sql import ColumnElement

from factoryos.errors import NotFound, ValidationFailed
from factoryos.listing import like_pattern

MAX_LIMIT = 500
R = TypeVar("R", bound=Mapping[Any, Any])


@dataclass(frozen=True)
class Page:
    items: list[RowMapping]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, row_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("invalid pagination cursor", code="invalid_cursor", field="cursor") from exc


class TenantRepository(Generic[R]):
    """CRUD on one tenant table. Subclasses set `table` and `entity` (used in messages) and name
    the record type of their rows."""

    table: ClassVar[Table]
    entity: ClassVar[str] = "record"

    def __init__(self, conn: Connection, tenant_id: UUID) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def scoped(self, *clauses: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(self.table.c.tenant_id == self.tenant_id, *clauses)

    def get(self, row_id: UUID, *, for_update: bool = False) -> R | None:
        stmt = select(self.table).where(self.scoped(self.table.c.id == row_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self._record(self.conn.execute(stmt).mappings().first())

    @staticmethod
    def _record(row: RowMapping | None) -> R | None:
        return cast("R | None", row)

    def require(self, row_id: UUID, *, for_update: bool = False) -> R:
        row = self.get(row_id, for_update=for_update)
        if row is None:
            raise NotFound(f"{self.entity} {row_id} not found", code=f"{self.entity.replace(' ', '_')}_not_found")
        return row

    def page(
        self,
        *clauses: ColumnElement[bool],
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
        search_columns: Sequence[str] = (),
    ) -> Page:
        """Keyset pagination on (created_at, id): stable under concurrent inserts."""
        t = self.table
        limit = max(1, min(limit, MAX_LIMIT))
        where = [self.scoped(*clauses)]
        if cursor:
            created, row_id = decode_cursor(cursor)
            where.append(or_(t.c.created_at > created, and_(t.c.created_at == created, t.c.id > row_id)))
        if search and search_columns:
            pattern = like_pattern(search)
            where.append(or_(*(t.c[c].ilike(pattern, escape="\\") for c in search_columns)))
        stmt = select(t).where(*where).order_by(t.c.created_at, t.c.id).limit(limit + 1)
        rows = list(self.conn.execute(stmt).mappings())
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
        return Page(rows, next_cursor)

    def insert(self, **values: Any) -> R:
        values["tenant_id"] = self.tenant_id
        return cast(R, self.conn.execute(insert(self.table).values(**values).returning(self.table)).mappings().one())

    def update(self, row_id: UUID, **values: Any) -> R | None:
        stmt = update(self.table).where(self.scoped(self.table.c.id == row_id)).values(**values)
        return self._record(self.conn.execute(stmt.returning(self.table)).mappings().first())

    def delete(self, row_id: UUID) -> R | None:
        stmt = delete(self.table).where(self.scoped(self.table.c.id == row_id)).returning(self.table)
        return self._record(self.conn.execute(stmt).mappings().first())
