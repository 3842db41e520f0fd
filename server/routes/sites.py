"""Plant hierarchy: sites (with their operators), areas and lines."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import RowMapping

from factoryos.identity.access import require_every_site
from factoryos.plant import areas, lines, operators, sites
from factoryos.plant.listing import Page
from factoryos.plant.models import (
    AreaIn,
    AreaOut,
    AreaPatch,
    AreaQuery,
    LineIn,
    LineOut,
    LinePatch,
    LineQuery,
    OperatorIn,
    OperatorOut,
    SiteIn,
    SiteOut,
    SitePatch,
    SiteQuery,
)
from factoryos.plant.records import LineRecord, SiteRecord
from server.api import Context, Router
from server.licensing import require_license_room

router = Router(prefix="/api/v1", tags=("plant",))

VIEW = "assets.view"
MANAGE = "machines.manage"


def _site(row: SiteRecord | RowMapping) -> SiteOut:
    return SiteOut.model_validate(dict(row))


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


# -- sites ------------------------------------------------------------------------------


@router.get("/sites", permission=VIEW, query=SiteQuery, response=Page[SiteOut])
def list_sites(ctx: Context, query: SiteQuery) -> Page[SiteOut]:
    """Sites of this company; `q` searches name, code and address."""
    page = sites.list_sites(ctx.conn, ctx.tenant_id, query)
    return Page[SiteOut](items=[_site(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/sites", permission=MANAGE, body=SiteIn, response=SiteOut, status_code=201)
def create_site(ctx: Context, body: SiteIn) -> SiteOut:
    """Add a site with its IANA timezone and KPI policy."""
    require_every_site(ctx.conn)
    require_license_room(ctx, "sites")
    out = _site(sites.create_site(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "site", out.id, after=_json(out))
    return out


@router.get("/sites/{site_id:uuid}", permission=VIEW, response=SiteOut)
def get_site(ctx: Context, site_id: UUID) -> SiteOut:
    """One site."""
    return _site(sites.Sites(ctx.conn, ctx.tenant_id).require(site_id))


@router.patch("/sites/{site_id:uuid}", permission=MANAGE, body=SitePatch, response=SiteOut)
def update_site(ctx: Context, site_id: UUID, body: SitePatch) -> SiteOut:
    """Change a site; the timezone applies to shifts not yet recorded."""
    before, after = sites.update_site(ctx.conn, ctx.tenant_id, site_id, body)
    out = _site(after)
    ctx.audit("update", "site", site_id, before=_json(_site(before)), after=_json(out))
    return out


@router.delete("/sites/{site_id:uuid}", permission=MANAGE, status_code=204)
def delete_site(ctx: Context, site_id: UUID) -> None:
    """Remove an empty site."""
    before = sites.delete_site(ctx.conn, ctx.tenant_id, site_id)
    ctx.audit("delete", "site", site_id, before=_json(_site(before)))


@router.get("/sites/{site_id:uuid}/operators", permission=VIEW, response=list[OperatorOut])
def list_site_operators(ctx: Context, site_id: UUID) -> list[OperatorOut]:
    """Members who work at this site."""
    return [OperatorOut.model_validate(dict(r)) for r in operators.list_operators(ctx.conn, ctx.tenant_id, site_id)]


@router.post("/sites/{site_id:uuid}/operators", permission=MANAGE, body=OperatorIn, response=OperatorOut,
             status_code=201)
def add_site_operator(ctx: Context, site_id: UUID, body: OperatorIn) -> OperatorOut:
    """Assign a company member to this site."""
    out = OperatorOut.model_validate(dict(operators.add_operator(ctx.conn, ctx.tenant_id, site_id, body.user_id)))
    ctx.audit("create", "site_operator", f"{site_id}/{body.user_id}", after=_json(out))
    return out


@router.delete("/sites/{site_id:uuid}/operators/{user_id:uuid}", permission=MANAGE, status_code=204)
def remove_site_operator(ctx: Context, site_id: UUID, user_id: UUID) -> None:
    """Take a member off this site."""
    before = OperatorOut.model_validate(dict(operators.remove_operator(ctx.conn, ctx.tenant_id, site_id, user_id)))
    ctx.audit("delete", "site_operator", f"{site_id}/{user_id}", before=_json(before))


# -- areas ------------------------------------------------------------------------------


def _area(row: RowMapping) -> AreaOut:
    return AreaOut.model_validate(dict(row))


@router.get("/areas", permission=VIEW, query=AreaQuery, response=Page[AreaOut])
def list_areas(ctx: Context, query: AreaQuery) -> Page[AreaOut]:
    """Areas, optionally of one site."""
    page = areas.list_areas(ctx.conn, ctx.tenant_id, query)
    return Page[AreaOut](items=[_area(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/areas", permission=MANAGE, body=AreaIn, response=AreaOut, status_code=201)
def create_area(ctx: Context, body: AreaIn) -> AreaOut:
    """Add an area to a site."""
    out = _area(areas.create_area(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "area", out.id, after=_json(out))
    return out


@router.get("/areas/{area_id:uuid}", permission=VIEW, response=AreaOut)
def get_area(ctx: Context, area_id: UUID) -> AreaOut:
    """One area."""
    return _area(areas.Areas(ctx.conn, ctx.tenant_id).require(area_id))


@router.patch("/areas/{area_id:uuid}", permission=MANAGE, body=AreaPatch, response=AreaOut)
def update_area(ctx: Context, area_id: UUID, body: AreaPatch) -> AreaOut:
    """Rename or recode an area."""
    before, after = areas.update_area(ctx.conn, ctx.tenant_id, area_id, body)
    out = _area(after)
    ctx.audit("update", "area", area_id, before=_json(_area(before)), after=_json(out))
    return out


@router.delete("/areas/{area_id:uuid}", permission=MANAGE, status_code=204)
def delete_area(ctx: Context, area_id: UUID) -> None:
    """Remove an area without lines."""
    before = areas.delete_area(ctx.conn, ctx.tenant_id, area_id)
    ctx.audit("delete", "area", area_id, before=_json(_area(before)))


# -- lines ------------------------------------------------------------------------------


def _line(row: LineRecord | RowMapping) -> LineOut:
    return LineOut.model_validate(dict(row))


@router.get("/lines", permission=VIEW, query=LineQuery, response=Page[LineOut])
def list_lines(ctx: Context, query: LineQuery) -> Page[LineOut]:
    """Lines, optionally of one site or area."""
    page = lines.list_lines(ctx.conn, ctx.tenant_id, query)
    return Page[LineOut](items=[_line(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/lines", permission=MANAGE, body=LineIn, response=LineOut, status_code=201)
def create_line(ctx: Context, body: LineIn) -> LineOut:
    """Add a line to a site (and optionally an area of it)."""
    out = _line(lines.create_line(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "line", out.id, after=_json(out))
    return out


@router.get("/lines/{line_id:uuid}", permission=VIEW, response=LineOut)
def get_line(ctx: Context, line_id: UUID) -> LineOut:
    """One line."""
    return _line(lines.Lines(ctx.conn, ctx.tenant_id).require(line_id))


@router.patch("/lines/{line_id:uuid}", permission=MANAGE, body=LinePatch, response=LineOut)
def update_line(ctx: Context, line_id: UUID, body: LinePatch) -> LineOut:
    """Rename, recode or move a line to another area of its site."""
    before, after = lines.update_line(ctx.conn, ctx.tenant_id, line_id, body)
    out = _line(after)
    ctx.audit("update", "line", line_id, before=_json(_line(before)), after=_json(out))
    return out


@router.delete("/lines/{line_id:uuid}", permission=MANAGE, status_code=204)
def delete_line(ctx: Context, line_id: UUID) -> None:
    """Remove a line without machines."""
    before = lines.delete_line(ctx.conn, ctx.tenant_id, line_id)
    ctx.audit("delete", "line", line_id, before=_json(_line(before)))
