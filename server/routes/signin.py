"""How every sign-in (login, onboarding, invite accept) is issued; its shape is
`factoryos.identity.models.SignIn`.

Not a router: the auth, setup and invite routers share `sign_in`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import RowMapping

from factoryos.errors import FactoryOSError
from factoryos.identity.accounts import CompanyChoice
from factoryos.identity.models import AccountOut, CompanyRef, SignIn
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.sessions import open_session
from factoryos.identity.tokens import issue_token
from factoryos.system.first_sign_in import retire
from server.api import Context
from server.problem import ProblemResponse, from_error


def access_token(
    rt: IdentityRuntime, user_id: UUID, tenant_id: UUID | None, session_id: UUID | None
) -> tuple[str, datetime, int]:
    token, expires = issue_token(
        rt.keys.token_signing, user_id=user_id, tenant_id=tenant_id, session_id=session_id, ttl=rt.access_ttl
    )
    return token, expires, int((expires - datetime.now(timezone.utc)).total_seconds())


def sign_in(
    ctx: Context,
    rt: IdentityRuntime,
    user: RowMapping,
    choice: CompanyChoice | None,
    companies: list[CompanyChoice],
    *,
    method: str = "password",
) -> SignIn:
    """Open a session in the chosen company (and audit the login), or issue an account token."""
    refresh = session_id = None
    if choice is not None:
        ctx.set_tenant(choice.tenant_id, user["id"])
        session_id, refresh = open_session(
            ctx.conn, rt, choice.tenant_id, user["id"], client_ip=ctx.client_ip, user_agent=ctx.user_agent
        )
        ctx.audit(
            "login",
            "session",
            session_id,
            tenant_id=choice.tenant_id,
            actor_id=user["id"],
            after={"method": method, "mfa": bool(user["totp_enabled"])},
        )
        if ctx.settings.first_sign_in_file is not None:
            retire(ctx.settings.first_sign_in_file, signed_in=user["email"])
    token, expires, seconds = access_token(rt, user["id"], choice.tenant_id if choice else None, session_id)
    return SignIn(
        access_token=token,
        expires_at=expires,
        expires_in=seconds,
        refresh_token=refresh,
        session_id=session_id,
        account=AccountOut.of(user),
        company=CompanyRef.of(choice) if choice else None,
        companies=[CompanyRef.of(c) for c in companies],
    )


def problem_response(ctx: Context, exc: FactoryOSError) -> ProblemResponse:
    """Answer an error *without* rolling back (what was recorded, e.g. a failed login, stays)."""
    return from_error(exc, request_id=ctx.request_id, instance=ctx.request.url.path)
