"""Site operators: which company members work at a site (and may be booked on its machines)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, delete, insert, select

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.sites import Sites
from factoryos.schema.identity import memberships, users
from factoryos.schema.plant import site_operators

_COLUMNS = (
    site_operators.c.user_id,
    site_operators.c.site_id,
    users.c.email,
    users.c.display_name,
    site_operators.c.created_at,
)


def _joined(tenant_id: UUID):
    return select(*_COLUMNS).select_from(
        site_operators.join(users, users.c.id == site_operators.c.user_id)
    ).where(site_operators.c.tenant_id == tenant_id)


def list_operators(conn: Connection, tenant_id: UUID, site_id: UUID) -> list[RowMapping]:
    Sites(conn, tenant_id).require(site_id)
    stmt = _joined(tenant_id).where(site_operators.c.site_id == site_id).order_by(users.c.email)
    return list(conn.execute(stmt).mappings())


def add_operator(conn: Connection, tenant_id: UUID, site_id: UUID, user_id: UUID) -> RowMapping:
    Sites(conn, tenant_id).require(site_id)
    member = conn.execute(
        select(memberships.c.id).where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
    ).first()
    if member is None:
        raise ValidationFailed(f"user {user_id} is not a member of this company", code="not_a_member", field="user_id")
    taken = Conflict("this user is already an operator of the site", code="operator_exists", field="user_id")
    with constraint_errors(conn, {"uq_site_operators_tenant_site_user": taken}):
        conn.execute(insert(site_operators).values(tenant_id=tenant_id, site_id=site_id, user_id=user_id))
    stmt = _joined(tenant_id).where(site_operators.c.site_id == site_id, site_operators.c.user_id == user_id)
    return conn.execute(stmt).mappings().one()


def remove_operator(conn: Connection, tenant_id: UUID, site_id: UUID, user_id: UUID) -> RowMapping:
    stmt = _joined(tenant_id).where(site_operators.c.site_id == site_id, site_operators.c.user_id == user_id)
    before = conn.execute(stmt).mappings().first()
    if before is None:
        raise NotFound("this user is not an operator of the site", code="operator_not_found")
    conn.execute(
        delete(site_operators).where(
            and_(site_operators.c.tenant_id == tenant_id, site_operators.c.site_id == site_id,
                 site_operators.c.user_id == user_id)
        )
    )
    return before


def require_operators(conn: Connection, tenant_id: UUID, site_id: UUID, user_ids: Iterable[UUID], field: str) -> None:
    """Each user must be a current member of the company and an operator of the site."""
    wanted = set(user_ids)
    if not wanted:
        return
    found = set(
        conn.execute(
            select(site_operators.c.user_id)
            .join(memberships, and_(memberships.c.tenant_id == site_operators.c.tenant_id,
                                    memberships.c.user_id == site_operators.c.user_id))
            .where(site_operators.c.tenant_id == tenant_id, site_operators.c.site_id == site_id,
                   site_operators.c.user_id.in_(wanted))
        ).scalars()
    )
    missing = wanted - found
    if missing:
        raise not_site_operators(missing, field)


def not_site_operators(user_ids: Iterable[UUID], field: str) -> ValidationFailed:
    missing = sorted(str(u) for u in user_ids)
    return ValidationFailed(
        f"not an operator of this machine's site: {', '.join(missing)} (add them under /sites/{{id}}/operators)",
        code="not_a_site_operator",
        field=field,
    )
