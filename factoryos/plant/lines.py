"""Lines: machines in a flow; OEE rolls up per line by summing its machines' times and counts."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.plant.areas import Areas
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.models import LineIn, LinePatch, LineQuery
from factoryos.plant.patching import changes
from factoryos.plant.records import LineRecord
from factoryos.plant.sites import require_site
from factoryos.schema.plant import lines


class Lines(TenantRepository[LineRecord]):
    table = lines
    entity = "line"


def _code_taken(code: str) -> Conflict:
    return Conflict(f"this site already has a line with code {code!r}", code="line_code_taken", field="code")


def _check_area(conn: Connection, tenant_id: UUID, site_id: UUID, area_id: UUID | None) -> None:
    if area_id is None:
        return
    area = Areas(conn, tenant_id).get(area_id)
    if area is None or area["site_id"] != site_id:
        raise ValidationFailed(f"area {area_id} not found on this line's site", code="area_not_found", field="area_id")


def require_line(conn: Connection, tenant_id: UUID, line_id: UUID, field: str = "line_id") -> LineRecord:
    line = Lines(conn, tenant_id).get(line_id)
    if line is None:
        raise ValidationFailed(f"line {line_id} not found", code="line_not_found", field=field)
    return line


def create_line(conn: Connection, tenant_id: UUID, data: LineIn) -> LineRecord:
    require_site(conn, tenant_id, data.site_id)
    _check_area(conn, tenant_id, data.site_id, data.area_id)
    with constraint_errors(conn, {"uq_lines_tenant_site_code": _code_taken(data.code)}):
        return Lines(conn, tenant_id).insert(**data.model_dump())


def list_lines(conn: Connection, tenant_id: UUID, query: LineQuery) -> Page:
    clauses = []
    if query.site_id:
        clauses.append(lines.c.site_id == query.site_id)
    if query.area_id:
        clauses.append(lines.c.area_id == query.area_id)
    return Lines(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name", "code")
    )


def update_line(conn: Connection, tenant_id: UUID, line_id: UUID, patch: LinePatch) -> tuple[LineRecord, LineRecord]:
    repo = Lines(conn, tenant_id)
    before = repo.require(line_id, for_update=True)
    values = changes(patch, nullable=("area_id",))
    if "area_id" in values:
        _check_area(conn, tenant_id, before["site_id"], values["area_id"])
    if not values:
        return before, before
    with constraint_errors(conn, {"uq_lines_tenant_site_code": _code_taken(values.get("code", ""))}):
        after = repo.update(line_id, **values)
    assert after is not None
    return before, after


def delete_line(conn: Connection, tenant_id: UUID, line_id: UUID) -> LineRecord:
    repo = Lines(conn, tenant_id)
    before = repo.require(line_id, for_update=True)
    in_use = Conflict("this line still has machines: move or remove them first", code="line_in_use", field="line_id")
    with constraint_errors(conn, {}, fallback=in_use):
        repo.delete(line_id)
    return before
