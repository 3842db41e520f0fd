"""Staff management: list members, view one, change single permissions or sites, remove."""

from __future__ import annotations

from uuid import UUID

from factoryos.db.tenant import current_site_scope
from factoryos.identity.invites import revoke_invites_of
from factoryos.identity.memberships import (
    Actor,
    change_permissions,
    change_sites,
    get_member,
    list_members,
    remove_member,
)
from factoryos.identity.models import Member, MemberPage, MemberQuery, PermissionsBody, SitesBody
from server.api import Context, Router

router = Router(prefix="/api/v1/users", tags=("users",))

MANAGE = "permissions.manage"


def _actor(ctx: Context) -> Actor:
    p = ctx.principal
    assert p is not None
    return Actor(p.user_id, p.tenant_id, p.permissions, current_site_scope(ctx.conn))


@router.get("", permission=MANAGE, query=MemberQuery, response=MemberPage)
def list_users(ctx: Context, query: MemberQuery) -> MemberPage:
    """Members of this company with their roles and permissions."""
    items, cursor = list_members(ctx.conn, ctx.tenant_id, limit=query.limit, cursor=query.cursor, search=query.q)
    ctx.audit("view", "user", None, after={"count": len(items), "q": query.q})
    return MemberPage(items=[Member(**i) for i in items], next_cursor=cursor)


@router.get("/{user_id:uuid}", permission=MANAGE, response=Member)
def get_user_member(ctx: Context, user_id: UUID) -> Member:
    """One member of this company."""
    member = Member(**get_member(ctx.conn, ctx.tenant_id, user_id))
    ctx.audit("view", "user", user_id)
    return member


@router.patch("/{user_id:uuid}/permissions", permission=MANAGE, body=PermissionsBody, response=Member)
def update_user_permissions(ctx: Context, user_id: UUID, body: PermissionsBody) -> Member:
    """Replace a member's granted and/or denied permissions (effective on their next request)."""
    before, after = change_permissions(ctx.conn, _actor(ctx), user_id, granted=body.granted, denied=body.denied)
    ctx.audit("permission_change", "user", user_id, before=before, after=after)
    return Member(**get_member(ctx.conn, ctx.tenant_id, user_id))


@router.put("/{user_id:uuid}/sites", permission=MANAGE, body=SitesBody, response=Member)
def update_user_sites(ctx: Context, user_id: UUID, body: SitesBody) -> Member:
    """Limit a member to some sites, or (null) give every site back (effective on their next request)."""
    before, after = change_sites(ctx.conn, _actor(ctx), user_id, body.site_ids)
    ctx.audit("update", "membership", user_id, before=before, after=after)
    return Member(**get_member(ctx.conn, ctx.tenant_id, user_id))


@router.delete("/{user_id:uuid}", permission=MANAGE, status_code=204)
def remove_user(ctx: Context, user_id: UUID) -> None:
    """Remove a member from this company and end their sessions here."""
    actor = _actor(ctx)
    before = remove_member(ctx.conn, actor, user_id)
    ctx.audit("delete", "membership", user_id, before=before)
    for invite in revoke_invites_of(ctx.conn, actor, user_id):  # no back door left behind
        ctx.audit("delete", "invite", invite["id"], before={"role": invite["role"], "expires_at": invite["expires_at"],
                                                            "reason": "author_removed"})
