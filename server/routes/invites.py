"""Invites: create a code, list open ones, revoke, and accept (join a company)."""

from __future__ import annotations

from uuid import UUID

from factoryos.identity.accounts import CompanyChoice, create_user, find_by_email, set_display_name, user_companies
from factoryos.identity.errors import CredentialError, MfaRequired
from factoryos.identity.invites import claim_invite, create_invite, invite_view, list_active, mark_used, revoke_invite
from factoryos.identity.login import check_credentials
from factoryos.identity.memberships import Actor, add_member
from factoryos.identity.models import AcceptBody, InviteBody, InviteOut, InvitePage, InviteQuery, NewInvite, SignIn
from factoryos.schema.tenancy import companies
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of
from server.licensing import require_license_room
from server.problem import ProblemResponse
from server.routes.auth import audit_failed_login
from server.routes.signin import problem_response, sign_in

router = Router(prefix="/api/v1/invites", tags=("invites",))


def _actor(ctx: Context) -> Actor:
    p = ctx.principal
    assert p is not None
    return Actor(p.user_id, p.tenant_id, p.permissions)


@router.post("", permission="invites.send", body=InviteBody, response=NewInvite, status_code=201,
             shows_secret=True)
def create_invite_code(ctx: Context, body: InviteBody) -> NewInvite:
    """Create a single-use invite code for a role (valid 48 hours)."""
    created = create_invite(ctx.conn, runtime_of(ctx), _actor(ctx), body.role)
    view = invite_view(created.row)
    ctx.audit("create", "invite", created.row["id"], after={k: v for k, v in view.items() if k != "id"})
    return NewInvite(**view, code=created.code)


@router.get("", permission="invites.send", query=InviteQuery, response=InvitePage)
def list_invites(ctx: Context, query: InviteQuery) -> InvitePage:
    """Open invites only: not used, not revoked, not expired."""
    rows, cursor = list_active(ctx.conn, ctx.tenant_id, limit=query.limit, cursor=query.cursor)
    return InvitePage(items=[InviteOut(**invite_view(r)) for r in rows], next_cursor=cursor)


@router.delete("/{invite_id:uuid}", permission="invites.send", status_code=204)
def revoke_invite_code(ctx: Context, invite_id: UUID) -> None:
    """Revoke an invite: its code stops working at once."""
    row = revoke_invite(ctx.conn, _actor(ctx), invite_id)
    ctx.audit("delete", "invite", invite_id, before={"role": row["role"], "expires_at": row["expires_at"]})


@router.post("/accept", permission=PUBLIC, body=AcceptBody, response=SignIn, status_code=201)
def accept_invite(ctx: Context, body: AcceptBody) -> SignIn | ProblemResponse:
    """Join a company with an invite code: new account, or sign in with your existing one."""
    rt = runtime_of(ctx)
    invite = claim_invite(ctx.conn, rt, body.code)
    tenant = invite["tenant_id"]
    if find_by_email(ctx.conn, body.email) is None:
        user = create_user(ctx.conn, rt, email=body.email, password=body.password, display_name=body.display_name or "")
    else:
        try:
            user = check_credentials(
                ctx.conn,
                rt,
                email=body.email,
                password=body.password,
                totp_code=body.totp_code,
                recovery_code=body.recovery_code,
                client_ip=ctx.client_ip,
            )
        except MfaRequired as exc:
            return problem_response(ctx, exc)
        except CredentialError as exc:
            audit_failed_login(ctx, exc, body.email)
            return problem_response(ctx, exc)
        if user["display_name"] is None and body.display_name:
            user = set_display_name(ctx.conn, user["id"], body.display_name)
    ctx.set_tenant(tenant, user["id"])
    require_license_room(ctx, "users", tenant)
    member = add_member(ctx.conn, tenant, user["id"], invite["role"], invited_by=invite["created_by"])
    mark_used(ctx.conn, invite, user["id"])
    name = ctx.conn.execute(companies.select().where(companies.c.tenant_id == tenant)).mappings().one()["name"]
    ctx.audit(
        "update",
        "invite",
        invite["id"],
        tenant_id=tenant,
        actor_id=user["id"],
        before={"used": False},
        after={"used": True, "used_by": user["id"]},
    )
    ctx.audit(
        "create",
        "membership",
        member["id"],
        tenant_id=tenant,
        actor_id=user["id"],
        after={"user_id": user["id"], "role": invite["role"], "invited_by": invite["created_by"]},
    )
    choice = CompanyChoice(tenant, name, invite["role"])
    return sign_in(ctx, rt, user, choice, user_companies(ctx.conn, user["id"]), method="invite")
