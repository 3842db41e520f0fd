"""The server's Authenticator: verified Bearer JWTs plus live access checks.

`identify` only verifies the token (signature, expiry, kind). The live membership, account
and session are read on every request, inside its transaction with the token's tenant set:
`access_statement` is the query (server.api sends it in the request's first round trip) and
`admit` the verdict on its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from starlette.requests import Request

from factoryos.config import Settings
from factoryos.db.tenant import set_tenant
from factoryos.errors import ConfigError, Unauthorized
from factoryos.identity.access import LIVE_ACCESS, access_of, live_access, require_permission
from factoryos.identity.accounts import get_user
from factoryos.identity.policy import IdentityPolicy
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.tokens import ACCESS, bearer_token, decode_token
from server.api import Context, Identity, Principal

# The live-access query as psycopg runs it, for the request's first round trip (server.api sends it
# in one pipeline with the transaction's BEGIN and tenant, and the idempotency claim).
_ACCESS = LIVE_ACCESS.compile(dialect=pg_psycopg.dialect())  # type: ignore[no-untyped-call]
_ACCESS_SQL, _ACCESS_PARAMS = str(_ACCESS), dict(_ACCESS.params)


class TokenAuthenticator:
    def __init__(self, runtime: IdentityRuntime) -> None:
        self.runtime = runtime

    @classmethod
    def from_settings(cls, settings: Settings, policy: IdentityPolicy | None = None) -> TokenAuthenticator:
        return cls(IdentityRuntime.from_settings(settings, policy))

    def identify(self, request: Request) -> Identity:
        claims = decode_token(self.runtime.keys.token_signing, bearer_token(request.headers.get("authorization")))
        if claims.kind != ACCESS or claims.tenant_id is None:
            raise Unauthorized(
                "this token is not for a company yet: create one (POST /setup/owner), accept an invite, "
                "or sign in choosing a company",
                code="company_required",
            )
        return Identity(user_id=claims.user_id, tenant_id=claims.tenant_id, session_id=claims.session_id)

    def access_statement(self, identity: Identity) -> tuple[str, dict[str, Any]]:
        return _ACCESS_SQL, {**_ACCESS_PARAMS, "tenant": identity.tenant_id, "user": identity.user_id,
                             "session": identity.session_id}

    def admit(self, row: Mapping[str, Any] | None, identity: Identity, permission: str) -> Principal:
        access = access_of(row)
        require_permission(access, permission)
        return Principal(
            user_id=identity.user_id,
            tenant_id=identity.tenant_id,
            role=access.role,
            permissions=access.permissions,
            session_id=identity.session_id,
        )


def runtime_of(ctx: Context) -> IdentityRuntime:
    auth = ctx.state.authenticator
    if not isinstance(auth, TokenAuthenticator):
        raise ConfigError("sign-in is not available: the server runs with another authenticator")
    return auth.runtime


@dataclass(frozen=True)
class AccountCaller:
    """A signed-in account, with or without a company (for onboarding routes)."""

    user_id: UUID
    tenant_id: UUID | None
    session_id: UUID | None


def account_caller(ctx: Context) -> AccountCaller:
    """Authenticate a company-less route by hand: any valid token, checked live.

    The framework can only authorize tenant-scoped tokens, so onboarding routes are
    declared PUBLIC and call this first. A company token must still have a live session.
    """
    rt = runtime_of(ctx)
    claims = decode_token(rt.keys.token_signing, bearer_token(ctx.request.headers.get("authorization")))
    if claims.tenant_id is not None:
        set_tenant(ctx.conn, claims.tenant_id, claims.user_id)
        live_access(ctx.conn, claims.tenant_id, claims.user_id, claims.session_id)
        set_tenant(ctx.conn, None, None)
    user = get_user(ctx.conn, claims.user_id)
    if user is None or user["status"] != "active":
        raise Unauthorized("this account is disabled", code="account_disabled")
    return AccountCaller(claims.user_id, claims.tenant_id, claims.session_id)
