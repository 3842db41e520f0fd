"""Catalog entries: add, find, read, and (author company only) edit or delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, or_, select, update

from factoryos.catalog.models import CatalogIn, CatalogOut, CatalogPatch, CatalogQuery, Kind
from factoryos.db.constraints import constraint_errors
from factoryos.db.repository import MAX_LIMIT, Page, decode_cursor, encode_cursor
from factoryos.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.patching import changes
from factoryos.schema.catalog import catalog_entries as t

LABEL = {"machine_model": "machine model", "material": "material"}


def entry_out(row: RowMapping, tenant_id: UUID) -> CatalogOut:
    return CatalogOut(
        **{k: row[k] for k in ("id", "kind", "category", "manufacturer", "name", "specs", "created_at", "updated_at")},
        author_company_id=row["author_tenant_id"],
        editable=row["author_tenant_id"] == tenant_id,
    )


def _same_identity(kind: str, manufacturer: str, name: str) -> Any:
    return and_(t.c.kind == kind, func.lower(t.c.manufacturer) == manufacturer.lower(),
                func.lower(t.c.name) == name.lower())


def _duplicate(
    conn: Connection, kind: str, manufacturer: str, name: str, exclude: UUID | None = None
) -> Conflict | None:
    stmt = select(t.c.id).where(_same_identity(kind, manufacturer, name))
    if exclude is not None:
        stmt = stmt.where(t.c.id != exclude)
    existing = conn.execute(stmt).scalar()
    if existing is None:
        return None
    return Conflict(
        f"the catalog already has {LABEL[kind]} {manufacturer} {name!r}: use entry {existing}",
        code="catalog_duplicate",
        field="name",
        extra={"existing_id": str(existing)},
    )


def get_entry(conn: Connection, entry_id: UUID, kind: Kind) -> RowMapping:
    row = conn.execute(select(t).where(t.c.id == entry_id, t.c.kind == kind)).mappings().first()
    if row is None:
        raise NotFound(f"{LABEL[kind]} {entry_id} not found in the catalog", code="catalog_entry_not_found")
    return row


def require_entry(conn: Connection, entry_id: UUID, kind: Kind, *, field: str) -> RowMapping:
    """A catalog entry a body refers to, or a 422 naming the field."""
    row = conn.execute(select(t).where(t.c.id == entry_id, t.c.kind == kind)).mappings().first()
    if row is None:
        raise ValidationFailed(f"{LABEL[kind]} {entry_id} not found in the catalog", code="catalog_entry_not_found",
                               field=field)
    return row


def create_entry(conn: Connection, tenant_id: UUID, user_id: UUID | None, kind: Kind, data: CatalogIn) -> RowMapping:
    clash = _duplicate(conn, kind, data.manufacturer, data.name)
    if clash:
        raise clash
    fallback = Conflict(f"the catalog already has this {LABEL[kind]}", code="catalog_duplicate", field="name")
    with constraint_errors(conn, {"uq_catalog_entries_identity": fallback}):
        stmt = insert(t).values(kind=kind, author_tenant_id=tenant_id, created_by=user_id, **data.model_dump())
        return conn.execute(stmt.returning(t)).mappings().one()


def list_entries(conn: Connection, tenant_id: UUID, kind: Kind, query: CatalogQuery) -> Page:
    where = [t.c.kind == kind]
    if query.category:
        where.append(t.c.category == query.category)
    if query.manufacturer:
        where.append(func.lower(t.c.manufacturer) == query.manufacturer.lower())
    if query.mine is not None:
        where.append((t.c.author_tenant_id == tenant_id) if query.mine else (t.c.author_tenant_id != tenant_id))
    if query.q:
        pattern = like_pattern(query.q)
        where.append(or_(*(c.ilike(pattern, escape="\\") for c in (t.c.name, t.c.manufacturer, t.c.category))))
    if query.cursor:
        created, row_id = decode_cursor(query.cursor)
        where.append(or_(t.c.created_at > created, and_(t.c.created_at == created, t.c.id > row_id)))
    limit = max(1, min(query.limit, MAX_LIMIT))
    rows = list(conn.execute(select(t).where(*where).order_by(t.c.created_at, t.c.id).limit(limit + 1)).mappings())
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return Page(rows, cursor)


def _authored(conn: Connection, tenant_id: UUID, entry_id: UUID, kind: Kind) -> RowMapping:
    row = get_entry(conn, entry_id, kind)
    if row["author_tenant_id"] != tenant_id:
        raise PermissionDenied(
            f"only the company that added this {LABEL[kind]} can change it; add your own variant instead",
            code="catalog_not_author",
        )
    return row


def update_entry(
    conn: Connection, tenant_id: UUID, entry_id: UUID, kind: Kind, patch: CatalogPatch
) -> tuple[RowMapping, RowMapping]:
    before = _authored(conn, tenant_id, entry_id, kind)
    values = changes(patch)
    if not values:
        return before, before
    clash = _duplicate(conn, kind, values.get("manufacturer", before["manufacturer"]),
                       values.get("name", before["name"]), exclude=entry_id)
    if clash:
        raise clash
    values["updated_at"] = func.now()
    after = conn.execute(
        update(t).where(t.c.id == entry_id, t.c.author_tenant_id == tenant_id).values(**values).returning(t)
    ).mappings().one()
    return before, after


def delete_entry(conn: Connection, tenant_id: UUID, entry_id: UUID, kind: Kind) -> RowMapping:
    before = _authored(conn, tenant_id, entry_id, kind)
    in_use = Conflict(f"this {LABEL[kind]} is in use by machines or plans and cannot be deleted",
                      code="catalog_entry_in_use", field="id")
    with constraint_errors(conn, {}, fallback=in_use):
        conn.execute(delete(t).where(t.c.id == entry_id, t.c.author_tenant_id == tenant_id))
    return before
