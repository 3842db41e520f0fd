"""Members of a company: adding, reading the live row, changing permissions, removing.

Permission checks read these rows on every request (no cache), so a change here applies
to the member's very next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from factoryos.db.repository import MAX_LIMIT, TenantRepository, decode_cursor, encode_cursor
from factoryos.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from factoryos.identity.errors import OwnerImmutable
from factoryos.identity.permissions import OWNER, ROLES, check_permission_names, effective_permissions
from factoryos.identity.records import MemberRecord
from factoryos.listing import like_pattern
from factoryos.schema.identity import auth_sessions, memberships, users
from factoryos.schema.plant import sites


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the live membership row says."""

    user_id: UUID
    tenant_id: UUID
    permissions: frozenset[str]
    site_ids: tuple[UUID, ...] | None = None  # the actor's own scope; None: every site


class MembershipRepository(TenantRepository[MemberRecord]):
    table = memberships
    entity = "member"

    def by_user(self, user_id: UUID, *, for_update: bool = False) -> MemberRecord | None:
        stmt = select(memberships).where(self.scoped(memberships.c.user_id == user_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self._record(self.conn.execute(stmt).mappings().first())

    def require_user(self, user_id: UUID, *, for_update: bool = False) -> MemberRecord:
        row = self.by_user(user_id, for_update=for_update)
        if row is None:
            raise NotFound(f"user {user_id} not found", code="user_not_found")
        return row


def add_member(
    conn: Connection, tenant_id: UUID, user_id: UUID, role: str, *, invited_by: UUID | None = None
) -> MemberRecord:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    repo = MembershipRepository(conn, tenant_id)
    try:
        with conn.begin_nested():
            return repo.insert(user_id=user_id, role=role, invited_by=invited_by)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if constraint == "uq_memberships_one_owner":
            raise Conflict("this company already has an owner", code="owner_exists", field="role") from None
        if constraint == "uq_memberships_tenant_user":
            raise Conflict("this account is already a member of the company", code="already_member") from None
        raise


def member_view(member: RowMapping, user: RowMapping) -> dict[str, Any]:
    return {
        "id": member["user_id"],
        "email": user["email"],
        "display_name": user["display_name"],
        "role": member["role"],
        "granted": sorted(member["granted"]),
        "denied": sorted(member["denied"]),
        "permissions": sorted(effective_permissions(member["role"], member["granted"], member["denied"])),
        "site_ids": list(member["site_ids"]) if member["site_ids"] is not None else None,
        "machine_ids": list(member["machine_ids"]) if member["machine_ids"] is not None else None,
        "joined_at": member["joined_at"],
        "invited_by": member["invited_by"],
        "mfa_enabled": user["totp_enabled"],
    }


def get_member(conn: Connection, tenant_id: UUID, user_id: UUID) -> dict[str, Any]:
    row = (
        conn.execute(
            select(memberships, users.c.email, users.c.display_name, users.c.totp_enabled)
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return member_view(row, row)


def list_members(
    conn: Connection, tenant_id: UUID, *, limit: int = 50, cursor: str | None = None, search: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Keyset pages on (created_at, id) of the membership, optionally filtered by name or email."""
    m = memberships
    limit = max(1, min(limit, MAX_LIMIT))
    where = [m.c.tenant_id == tenant_id]
    if cursor:
        created, row_id = decode_cursor(cursor)
        where.append(or_(m.c.created_at > created, and_(m.c.created_at == created, m.c.id > row_id)))
    if search:
        pattern = like_pattern(search)
        where.append(or_(users.c.email.ilike(pattern, escape="\\"), users.c.display_name.ilike(pattern, escape="\\")))
    rows = list(
        conn.execute(
            select(m, users.c.email, users.c.display_name, users.c.totp_enabled)
            .join(users, users.c.id == m.c.user_id)
            .where(*where)
            .order_by(m.c.created_at, m.c.id)
            .limit(limit + 1)
        ).mappings()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return [member_view(r, r) for r in rows], next_cursor


def _editable_target(repo: MembershipRepository, actor: Actor, user_id: UUID) -> MemberRecord:
    target = repo.require_user(user_id, for_update=True)
    if target["role"] == OWNER:
        raise OwnerImmutable("the company owner cannot be modified or removed")
    return target


def change_permissions(
    conn: Connection, actor: Actor, user_id: UUID, *, granted: list[str] | None, denied: list[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replace a member's single grants and/or denials; returns (before, after) for the audit."""
    repo = MembershipRepository(conn, actor.tenant_id)
    target = _editable_target(repo, actor, user_id)
    new_granted = check_permission_names(granted, "granted") if granted is not None else sorted(target["granted"])
    new_denied = check_permission_names(denied, "denied") if denied is not None else sorted(target["denied"])
    if user_id == actor.user_id and "permissions.manage" in set(new_granted) - set(target["granted"]):
        raise PermissionDenied(
            "nobody can grant themselves permissions.manage", code="self_grant_forbidden", field="granted"
        )
    beyond = sorted(set(new_granted) - set(target["granted"]) - actor.permissions)
    if beyond:
        raise PermissionDenied(
            f"you cannot grant permissions you do not hold: {', '.join(beyond)}",
            code="grant_exceeds_own",
            field="granted",
        )
    _check_denials(conn, actor, target, user_id, set(new_denied) - set(target["denied"]))
    overlap = sorted(set(new_granted) & set(new_denied))
    if overlap:
        raise Conflict(
            f"permission(s) both granted and denied: {', '.join(overlap)}", code="grant_deny_overlap", field="denied"
        )
    before = {"role": target["role"], "granted": sorted(target["granted"]), "denied": sorted(target["denied"])}
    conn.execute(
        update(memberships)
        .where(memberships.c.tenant_id == actor.tenant_id, memberships.c.id == target["id"])
        .values(granted=new_granted, denied=new_denied, updated_at=func.now())
    )
    after = {"role": target["role"], "granted": new_granted, "denied": new_denied}
    return before, after


def _check_denials(conn: Connection, actor: Actor, target: MemberRecord, user_id: UUID, added: set[str]) -> None:
    """Denials are capped like grants: only permissions one holds, never on someone whose role
    reaches beyond one's own rights, and never the company's last `admin.system` off oneself."""
    if not added:
        return
    beyond = sorted(added - actor.permissions)
    if beyond:
        raise PermissionDenied(f"you cannot deny permissions you do not hold: {', '.join(beyond)}",
                               code="deny_exceeds_own", field="denied")
    if user_id != actor.user_id and ROLES[target["role"]] - actor.permissions:
        raise PermissionDenied("you cannot restrict a member whose role holds permissions you do not",
                               code="target_outranks_you", field="denied")
    if user_id == actor.user_id and "admin.system" in added:
        others = conn.execute(
            select(memberships.c.role, memberships.c.granted, memberships.c.denied)
            .where(memberships.c.tenant_id == actor.tenant_id, memberships.c.user_id != user_id)
        ).mappings()
        if not any("admin.system" in effective_permissions(m["role"], m["granted"], m["denied"]) for m in others):
            raise PermissionDenied("you are the last member with admin.system: nobody could administer the company",
                                   code="last_admin", field="denied")


def remove_member(conn: Connection, actor: Actor, user_id: UUID) -> dict[str, Any]:
    """Delete the membership and end the member's sessions in this company; returns what was removed."""
    repo = MembershipRepository(conn, actor.tenant_id)
    if user_id == actor.user_id:
        raise PermissionDenied("you cannot remove yourself from the company", code="cannot_remove_self")
    target = _editable_target(repo, actor, user_id)
    repo.delete(target["id"])
    conn.execute(
        update(auth_sessions)
        .where(
            auth_sessions.c.tenant_id == actor.tenant_id,
            auth_sessions.c.user_id == user_id,
            auth_sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(timezone.utc), revoked_reason="member_removed")
    )
    return {"role": target["role"], "granted": sorted(target["granted"]), "denied": sorted(target["denied"])}


def known_sites(conn: Connection, tenant_id: UUID, site_ids: list[UUID], field: str = "site_ids") -> list[UUID]:
    """The ids, deduplicated in order, all of them sites this transaction sees; else 422 naming the first unknown.

    Read under the caller's own site scope: a site outside it is as unknown as another company's.
    """
    wanted = list(dict.fromkeys(site_ids))
    found = set(conn.execute(select(sites.c.id).where(sites.c.tenant_id == tenant_id, sites.c.id.in_(wanted))).scalars())
    for site_id in wanted:
        if site_id not in found:
            raise ValidationFailed(f"there is no site {site_id} in this company", code="unknown_site", field=field)
    return wanted


def change_sites(
    conn: Connection, actor: Actor, user_id: UUID, site_ids: list[UUID] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Limit a member to some sites (None: every site); returns (before, after) for the audit.

    Nobody changes their own sites, and a member limited to some sites can only hand out
    those sites: never every site, never one they cannot see.
    """
    repo = MembershipRepository(conn, actor.tenant_id)
    if user_id == actor.user_id:
        raise PermissionDenied("you cannot change your own sites", code="cannot_scope_self", field="site_ids")
    target = _editable_target(repo, actor, user_id)
    if site_ids is None and actor.site_ids is not None:
        raise PermissionDenied("you see only some sites: you cannot give anyone every site",
                               code="site_scope_exceeds_own", field="site_ids")
    if actor.site_ids is not None and (target["site_ids"] is None or set(target["site_ids"]) - set(actor.site_ids)):
        raise PermissionDenied("this member works at sites you do not see: ask an administrator of every site",
                               code="target_outranks_you", field="site_ids")
    new = known_sites(conn, actor.tenant_id, site_ids) if site_ids is not None else None
    before = {"role": target["role"], "site_ids": _ids(target["site_ids"])}
    conn.execute(
        update(memberships)
        .where(memberships.c.tenant_id == actor.tenant_id, memberships.c.id == target["id"])
        .values(site_ids=new, updated_at=func.now())
    )
    return before, {"role": target["role"], "site_ids": _ids(new)}


def _ids(site_ids: list[UUID] | None) -> list[str] | None:
    return [str(s) for s in site_ids] if site_ids is not None else None
