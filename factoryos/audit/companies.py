"""Resolve the companies an admin command acts on (by id or exact name)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.errors import NotFound
from factoryos.schema.tenancy import companies


def resolve(conn: Connection, company: str | None) -> list[tuple[UUID, str]]:
    stmt = select(companies.c.tenant_id, companies.c.name).order_by(companies.c.name)
    if company:
        try:
            stmt = stmt.where(companies.c.tenant_id == UUID(company))
        except ValueError:
            stmt = stmt.where(companies.c.name == company)
    found = [(r.tenant_id, r.name) for r in conn.execute(stmt)]
    if company and not found:
        raise NotFound(f"no company with id or name {company!r}", code="company_not_found", field="company")
    return found
