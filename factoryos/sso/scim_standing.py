"""What SCIM says about one account in one company, for the sign-in (factoryos/sso/signin.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.schema.sso import scim_group_members, scim_groups, scim_users


@dataclass(frozen=True)
class ScimStanding:
    active: bool
    groups: tuple[str, ...]  # the display names of the SCIM groups the person is in


def scim_standing(conn: Connection, tenant_id: UUID, user_id: UUID) -> ScimStanding | None:
    """None when the company's directory never provisioned this account."""
    row = conn.execute(select(scim_users.c.id, scim_users.c.active)
                       .where(scim_users.c.tenant_id == tenant_id, scim_users.c.user_id == user_id)).first()
    if row is None:
        return None
    return ScimStanding(row.active, group_names(conn, tenant_id, row.id))


def group_names(conn: Connection, tenant_id: UUID, scim_user_id: UUID) -> tuple[str, ...]:
    names = conn.execute(
        select(scim_groups.c.display_name)
        .join(scim_group_members, (scim_group_members.c.tenant_id == scim_groups.c.tenant_id)
              & (scim_group_members.c.group_id == scim_groups.c.id))
        .where(scim_group_members.c.tenant_id == tenant_id, scim_group_members.c.scim_user_id == scim_user_id)
        .order_by(scim_groups.c.display_name)
    ).scalars().all()
    return tuple(names)
