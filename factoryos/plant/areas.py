"""Areas: a site's halls or departments, grouping lines."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, RowMapping

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.models import AreaIn, AreaPatch, AreaQuery
from factoryos.plant.patching import changes
from factoryos.plant.sites import require_site
from factoryos.schema.plant import areas


class Areas(TenantRepository[RowMapping]):
    table = areas
    entity = "area"


def _code_taken(code: str) -> Conflict:
    return Conflict(f"this site already has an area with code {code!r}", code="area_code_taken", field="code")


def create_area(conn: Connection, tenant_id: UUID, data: AreaIn) -> RowMapping:
    require_site(conn, tenant_id, data.site_id)
    with constraint_errors(conn, {"uq_areas_tenant_site_code": _code_taken(data.code)}):
        return Areas(conn, tenant_id).insert(**data.model_dump())


def list_areas(conn: Connection, tenant_id: UUID, query: AreaQuery) -> Page:
    clauses = [areas.c.site_id == query.site_id] if query.site_id else []
    return Areas(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name", "code")
    )


def update_area(conn: Connection, tenant_id: UUID, area_id: UUID, patch: AreaPatch) -> tuple[RowMapping, RowMapping]:
    repo = Areas(conn, tenant_id)
    before = repo.require(area_id, for_update=True)
    values = changes(patch)
    if not values:
        return before, before
    with constraint_errors(conn, {"uq_areas_tenant_site_code": _code_taken(values.get("code", ""))}):
        after = repo.update(area_id, **values)
    assert after is not None
    return before, after


def delete_area(conn: Connection, tenant_id: UUID, area_id: UUID) -> RowMapping:
    repo = Areas(conn, tenant_id)
    before = repo.require(area_id, for_update=True)
    in_use = Conflict("this area still has lines: move or remove them first", code="area_in_use", field="area_id")
    with constraint_errors(conn, {}, fallback=in_use):
        repo.delete(area_id)
    return before
