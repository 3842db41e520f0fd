"""Login sessions and their rotating refresh tokens.

A session is one sign-in in one company; each refresh replaces its refresh token. A
rotated token that comes back means it leaked (or a client retried a stale one): the
whole session — the token family — is revoked, for the thief and the owner alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import Connection, insert, select, update

from factoryos.db.tenant import set_tenant
from factoryos.identity.errors import RefreshRejected, RefreshReused
from factoryos.identity.runtime import IdentityRuntime
from factoryos.identity.tokens import new_refresh_token, refresh_token_tenant
from factoryos.schema.identity import auth_sessions, memberships, refresh_tokens, users


@dataclass(frozen=True)
class Rotated:
    tenant_id: UUID
    user_id: UUID
    session_id: UUID
    refresh_token: str


def _store_token(conn: Connection, rt: IdentityRuntime, tenant_id: UUID, session_id: UUID) -> str:
    token = new_refresh_token(tenant_id)
    conn.execute(
        insert(refresh_tokens).values(
            tenant_id=tenant_id, session_id=session_id, token_hash=rt.keys.lookup_hash("refresh:" + token)
        )
    )
    return token


def open_session(
    conn: Connection, rt: IdentityRuntime, tenant_id: UUID, user_id: UUID, *, client_ip: str = "", user_agent: str = ""
) -> tuple[UUID, str]:
    """New session in the tenant the connection is set to; returns (session id, refresh token)."""
    now = datetime.now(timezone.utc)
    session_id = conn.execute(
        insert(auth_sessions)
        .values(
            tenant_id=tenant_id,
            user_id=user_id,
            expires_at=now + rt.session_ttl,
            client_ip=client_ip[:64] or None,
            user_agent=user_agent[:400] or None,
        )
        .returning(auth_sessions.c.id)
    ).scalar_one()
    return session_id, _store_token(conn, rt, tenant_id, session_id)


def revoke_session(conn: Connection, tenant_id: UUID, session_id: UUID, reason: str) -> bool:
    result = conn.execute(
        update(auth_sessions)
        .where(
            auth_sessions.c.tenant_id == tenant_id,
            auth_sessions.c.id == session_id,
            auth_sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(timezone.utc), revoked_reason=reason)
    )
    return result.rowcount > 0


def revoke_user_sessions(conn: Connection, tenant_id: UUID, user_id: UUID, reason: str) -> int:
    result = conn.execute(
        update(auth_sessions)
        .where(
            auth_sessions.c.tenant_id == tenant_id,
            auth_sessions.c.user_id == user_id,
            auth_sessions.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(timezone.utc), revoked_reason=reason)
    )
    return result.rowcount


def rotate(conn: Connection, rt: IdentityRuntime, token: str) -> Rotated:
    """Swap a refresh token for a new one. Sets the connection's tenant to the token's.

    Raises RefreshReused after revoking the session: the caller must commit that revocation
    (answer the error without rolling back).
    """
    tenant_id = refresh_token_tenant(token)
    set_tenant(conn, tenant_id)
    token_hash = rt.keys.lookup_hash("refresh:" + token)
    row = (
        conn.execute(
            select(
                refresh_tokens.c.id.label("token_id"), refresh_tokens.c.used_at.label("token_used_at"), auth_sessions
            )
            .join(auth_sessions, auth_sessions.c.id == refresh_tokens.c.session_id)
            .where(refresh_tokens.c.tenant_id == tenant_id, refresh_tokens.c.token_hash == token_hash)
            .with_for_update()  # both rows: a concurrent refresh must see the other's used_at
        )
        .mappings()
        .first()
    )
    if row is None:
        raise RefreshRejected("the refresh token is not valid; sign in again")
    now = datetime.now(timezone.utc)
    if row["revoked_at"] is not None:
        raise RefreshRejected("this session has ended; sign in again", code="session_revoked")
    if row["token_used_at"] is not None:
        revoke_session(conn, tenant_id, row["id"], "refresh_reused")
        raise RefreshReused(
            "this refresh token was already used; the session has been ended for safety",
            tenant_id=tenant_id,
            user_id=row["user_id"],
            session_id=row["id"],
        )
    if row["expires_at"] <= now:
        raise RefreshRejected("this session has expired; sign in again", code="session_expired")
    member = conn.execute(
        select(memberships.c.id)
        .join(users, users.c.id == memberships.c.user_id)
        .where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == row["user_id"], users.c.status == "active"
        )
    ).first()
    if member is None:
        revoke_session(conn, tenant_id, row["id"], "member_removed")
        raise RefreshRejected("you are no longer a member of this company", code="membership_revoked")
    conn.execute(update(refresh_tokens).where(refresh_tokens.c.id == row["token_id"]).values(used_at=now))
    conn.execute(update(auth_sessions).where(auth_sessions.c.id == row["id"]).values(last_used_at=now))
    return Rotated(tenant_id, row["user_id"], row["id"], _store_token(conn, rt, tenant_id, row["id"]))
