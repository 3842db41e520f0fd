"""What every sign-in answers (login, onboarding, invite accept) and how it is issued.

Not a router: the auth, setup and invite routers share these models and `sign_in`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import RowMapping

from factoryos.errors import FactoryOSError
from factoryos.identity.accounts import CompanyChoice
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.sessions import open_session
from factoryos.identity.tokens import issue_token
from server.api import Context
from server.problem import ProblemResponse, from_error


class AccountOut(BaseModel):
    id: UUID
    email: str
    display_name: str | None
    mfa_enabled: bool

    @classmethod
    def of(cls, user: RowMapping) -> AccountOut:
        return cls(
            id=user["id"], email=user["email"], display_name=user["display_name"], mfa_enabled=user["totp_enabled"]
        )


class CompanyRef(BaseModel):
    id: UUID
    name: str
    role: str

    @classmethod
    def of(cls, choice: CompanyChoice) -> CompanyRef:
        return cls(id=choice.tenant_id, name=choice.name, role=choice.role)


class TokenPair(BaseModel):
    token_type: Literal["bearer"] = "bearer"
    access_token: str
    expires_at: datetime
    expires_in: int
    refresh_token: str | None = None
    session_id: UUID | None = None


class SignIn(TokenPair):
    """Tokens plus who signed in where. Without a company: an account token only (no refresh)."""

    account: AccountOut
    company: CompanyRef | None
    companies: list[CompanyRef]


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
