"""Sites: the timezone and KPI policy every shift and OEE figure of their machines uses."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.kpi import KpiPolicy, NoDataPolicy
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.models import SiteIn, SitePatch, SiteQuery
from factoryos.plant.patching import changes
from factoryos.plant.records import SiteRecord
from factoryos.schema.plant import sites


class Sites(TenantRepository[SiteRecord]):
    table = sites
    entity = "site"


def _code_taken(code: str) -> Conflict:
    return Conflict(f"a site with code {code!r} already exists", code="site_code_taken", field="code")


def create_site(conn: Connection, tenant_id: UUID, data: SiteIn) -> SiteRecord:
    with constraint_errors(conn, {"uq_sites_tenant_code": _code_taken(data.code)}):
        return Sites(conn, tenant_id).insert(**data.model_dump())


def get_site(conn: Connection, tenant_id: UUID, site_id: UUID) -> SiteRecord:
    return Sites(conn, tenant_id).require(site_id)


def require_site(conn: Connection, tenant_id: UUID, site_id: UUID, field: str = "site_id") -> SiteRecord:
    """The site a body refers to, or a 422 naming the field (not a 404: the URL was fine)."""
    site = Sites(conn, tenant_id).get(site_id)
    if site is None:
        raise ValidationFailed(f"site {site_id} not found", code="site_not_found", field=field)
    return site


def list_sites(conn: Connection, tenant_id: UUID, query: SiteQuery) -> Page:
    return Sites(conn, tenant_id).page(
        limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name", "code", "address")
    )


def update_site(conn: Connection, tenant_id: UUID, site_id: UUID, patch: SitePatch) -> tuple[SiteRecord, SiteRecord]:
    repo = Sites(conn, tenant_id)
    before = repo.require(site_id, for_update=True)
    values = changes(patch, nullable=("address", "paper_size"))
    if not values:
        return before, before
    with constraint_errors(conn, {"uq_sites_tenant_code": _code_taken(values.get("code", ""))}):
        after = repo.update(site_id, **values)
    assert after is not None
    return before, after


def delete_site(conn: Connection, tenant_id: UUID, site_id: UUID) -> SiteRecord:
    repo = Sites(conn, tenant_id)
    before = repo.require(site_id, for_update=True)
    in_use = Conflict(
        "this site still has areas, lines, machines or shifts: remove those first",
        code="site_in_use",
        field="site_id",
    )
    with constraint_errors(conn, {}, fallback=in_use):
        repo.delete(site_id)
    return before


def site_policy(site: SiteRecord | RowMapping) -> KpiPolicy:
    return KpiPolicy(
        micro_stop_threshold=timedelta(seconds=site["micro_stop_seconds"]),
        setup_is_planned=site["setup_is_planned"],
        no_data_policy=NoDataPolicy(site.get("no_data_policy", NoDataPolicy.BUSY)),
    )
