"""The caller's access, read live on every request: membership, account, session.

No cache on purpose: a permission change, a removal or a revoked session applies to the
very next request. The same query scopes the transaction to the membership's sites
(`app.site_ids`, see factoryos.db.tenant) and to the machines the person is certified for
(`app.machine_ids`, see factoryos.identity.certifications): every site- or machine-bound row the
request reads or writes afterwards passes the database's site and machine policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, Text, bindparam, cast, func, literal, select

from factoryos.db.tenant import SITE_SETTING, current_site_scope
from factoryos.errors import PermissionDenied, Unauthorized
from factoryos.identity.certifications import MACHINE_SETTING
from factoryos.identity.permissions import (
    INSTALLATION_ADMIN,
    KNOWN_PERMISSIONS,
    SIGNED_IN,
    effective_permissions,
    with_installation,
)
from factoryos.schema.identity import auth_sessions, memberships, users


@dataclass(frozen=True)
class LiveAccess:
    role: str
    permissions: frozenset[str]
    site_ids: tuple[UUID, ...] | None = None  # None: every site
    machine_ids: tuple[UUID, ...] | None = None  # None: every machine of those sites


# Built once: every authenticated request runs it.
LIVE_ACCESS = (
    select(
        memberships.c.role,
        memberships.c.granted,
        memberships.c.denied,
        users.c.status,
        users.c.installation_admin,
        auth_sessions.c.revoked_at,
        auth_sessions.c.expires_at,
        memberships.c.site_ids,
        # Set in the same round trip: '' (every site) or the membership's `{uuid,…}`.
        func.set_config(literal(SITE_SETTING), func.coalesce(cast(memberships.c.site_ids, Text), ""),
                        literal(True)).label("scoped"),
        memberships.c.machine_ids,
        # Likewise '' (no limit) or the machines the person is certified for (0025).
        func.set_config(literal(MACHINE_SETTING), func.coalesce(cast(memberships.c.machine_ids, Text), ""),
                        literal(True)).label("certified"),
    )
    .join(users, users.c.id == memberships.c.user_id)
    .outerjoin(
        auth_sessions,
        (auth_sessions.c.tenant_id == memberships.c.tenant_id)
        & (auth_sessions.c.user_id == memberships.c.user_id)
        & (auth_sessions.c.id == bindparam("session")),
    )
    .where(memberships.c.tenant_id == bindparam("tenant"), memberships.c.user_id == bindparam("user"))
)


def live_access(conn: Connection, tenant_id: UUID, user_id: UUID, session_id: UUID | None) -> LiveAccess:
    """Raise Unauthorized unless the session, the account and the membership are all live."""
    row = conn.execute(LIVE_ACCESS, {"tenant": tenant_id, "user": user_id, "session": session_id}).mappings().first()
    return access_of(row)


def access_of(row: RowMapping | Mapping[str, Any] | None) -> LiveAccess:
    """The verdict on a row of the live-access query (`LIVE_ACCESS`), for callers that fetch it
    themselves, e.g. in a pipeline with other statements."""
    if row is None:
        raise Unauthorized("you are no longer a member of this company", code="membership_revoked")
    if row["status"] != "active":
        raise Unauthorized("this account is disabled", code="account_disabled")
    if row["expires_at"] is None or row["revoked_at"] is not None:
        raise Unauthorized("this session has ended; sign in again", code="session_revoked")
    if row["expires_at"] <= datetime.now(timezone.utc):
        raise Unauthorized("this session has expired; sign in again", code="session_expired")
    permissions = effective_permissions(row["role"], row["granted"], row["denied"])
    sites = tuple(row["site_ids"]) if row["site_ids"] is not None else None
    machines = tuple(row["machine_ids"]) if row["machine_ids"] is not None else None
    return LiveAccess(row["role"], with_installation(permissions, row["installation_admin"]), sites, machines)


# Permissions no role bundle explains: what the refusal tells the caller to do.
_WHY = {
    INSTALLATION_ADMIN: "backups, restores and the license cover every company on this server: they need "
    "admin.system and an installation administrator's account (on the server host: factoryos user "
    "installation-admin --email …)",
}


def require_every_site(conn: Connection) -> None:
    """Refuse a company-wide action (adding a site) to a member limited to some sites: the
    database would refuse the row anyway, this says why."""
    if current_site_scope(conn) is not None:
        raise PermissionDenied("you see only some sites: adding a site needs an administrator of every site",
                               code="site_scope_exceeds_own")


def require_permission(access: LiveAccess, permission: str) -> None:
    if permission not in KNOWN_PERMISSIONS:
        # A route declared a permission nobody can hold: a bug, never a reason to let it pass.
        raise PermissionDenied(f"this action requires an unknown permission {permission!r}", code="unknown_permission")
    if permission != SIGNED_IN and permission not in access.permissions:
        why = _WHY.get(permission, f"this action needs the {permission} permission")
        raise PermissionDenied(why, extra={"permission": permission})
