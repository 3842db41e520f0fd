"""Invites: short single-use codes that let someone join a company in a given role.

Codes are stored as keyed hashes (only a 4-character prefix is kept to tell them apart);
a used invite records when and by whom; revoking keeps the row so a revoked code gets
its own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, insert, or_, select, text, update

from factoryos.db.repository import MAX_LIMIT, decode_cursor, encode_cursor
from factoryos.db.tenant import set_tenant
from factoryos.errors import PermissionDenied, ValidationFailed
from factoryos.identity.codes import new_invite_code, normalize_invite_code
from factoryos.identity.errors import InviteExpired, InviteNotFound, InviteRevoked, InviteUsed
from factoryos.identity.memberships import Actor
from factoryos.identity.permissions import INVITABLE_ROLES, ROLES, effective_permissions
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import invites, memberships


@dataclass(frozen=True)
class CreatedInvite:
    row: RowMapping
    code: str


def _code_hash(rt: IdentityRuntime, code: str) -> str:
    return rt.keys.lookup_hash("invite:" + code)


def _code_in_use(conn: Connection, code_hash: str) -> bool:
    return conn.execute(
        text("select exists (select 1 from identity_invite_company(:h))"), {"h": code_hash}
    ).scalar_one()


def create_invite(conn: Connection, rt: IdentityRuntime, actor: Actor, role: str) -> CreatedInvite:
    if role not in INVITABLE_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(INVITABLE_ROLES)}", code="invalid_role", field="role")
    beyond = ROLES[role] - actor.permissions
    if beyond:
        raise PermissionDenied(
            f"you cannot invite someone with more permissions than you hold ({', '.join(sorted(beyond))})",
            code="role_exceeds_own",
            field="role",
        )
    for _ in range(5):
        code = new_invite_code()
        code_hash = _code_hash(rt, code)
        if not _code_in_use(conn, code_hash):
            break
    else:  # pragma: no cover - 31^8 codes make five collisions in a row practically impossible
        raise RuntimeError("could not draw an unused invite code")
    row = (
        conn.execute(
            insert(invites)
            .values(
                tenant_id=actor.tenant_id,
                code_hash=code_hash,
                code_prefix=code[:4],
                role=role,
                created_by=actor.user_id,
                expires_at=datetime.now(timezone.utc) + timedelta(hours=rt.policy.invite_hours),
            )
            .returning(invites)
        )
        .mappings()
        .one()
    )
    return CreatedInvite(row, code)


def invite_view(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code_hint": f"{row['code_prefix']}-····",
        "role": row["role"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
    }


def list_active(
    conn: Connection, tenant_id: UUID, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[RowMapping], str | None]:
    """Unused, unrevoked, unexpired invites, oldest first (keyset pages)."""
    t = invites
    limit = max(1, min(limit, MAX_LIMIT))
    where = [
        t.c.tenant_id == tenant_id,
        t.c.used_at.is_(None),
        t.c.revoked_at.is_(None),
        t.c.expires_at > datetime.now(timezone.utc),
    ]
    if cursor:
        created, row_id = decode_cursor(cursor)
        where.append(or_(t.c.created_at > created, and_(t.c.created_at == created, t.c.id > row_id)))
    rows = list(conn.execute(select(t).where(*where).order_by(t.c.created_at, t.c.id).limit(limit + 1)).mappings())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return rows, next_cursor


def revoke_invite(conn: Connection, actor: Actor, invite_id: UUID) -> RowMapping:
    row = (
        conn.execute(
            select(invites).where(invites.c.tenant_id == actor.tenant_id, invites.c.id == invite_id).with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise InviteNotFound(f"invite {invite_id} not found")
    if row["used_at"] is not None:
        raise InviteUsed("this invite was already used; remove the member instead")
    if row["revoked_at"] is None:
        row = (
            conn.execute(
                update(invites)
                .where(invites.c.tenant_id == actor.tenant_id, invites.c.id == invite_id)
                .values(revoked_at=datetime.now(timezone.utc), revoked_by=actor.user_id)
                .returning(invites)
            )
            .mappings()
            .one()
        )
    return row


def claim_invite(conn: Connection, rt: IdentityRuntime, code: str) -> RowMapping:
    """The open invite for this code, locked; sets the connection's tenant to its company.

    The row lock makes concurrent accepts of one code queue up: the first marks it used,
    the others then see it used.
    """
    normalized = normalize_invite_code(code)
    if normalized is None:
        raise InviteNotFound("that is not an invite code (it looks like K7MX-3QPD)", field="code")
    code_hash = _code_hash(rt, normalized)
    tenants = list(conn.execute(text("select * from identity_invite_company(:h)"), {"h": code_hash}).scalars())
    if not tenants:
        raise InviteNotFound("no invite has this code; check it for typos", field="code")
    set_tenant(conn, tenants[0])
    row = (
        conn.execute(
            select(invites).where(invites.c.tenant_id == tenants[0], invites.c.code_hash == code_hash).with_for_update()
        )
        .mappings()
        .one()
    )
    if row["revoked_at"] is not None:
        raise InviteRevoked("this invite was revoked; ask for a new one", field="code")
    if row["used_at"] is not None:
        raise InviteUsed("this invite was already used; ask for a new one", field="code")
    if row["expires_at"] <= datetime.now(timezone.utc):
        raise InviteExpired("this invite has expired; ask for a new one", field="code")
    _check_author(conn, row)
    return row


def _check_author(conn: Connection, invite: RowMapping) -> None:
    """An invite is only as good as its author's rights *now*: a removed author, or one who lost
    `invites.send` or some of the role's permissions, leaves no working code behind."""
    author = conn.execute(
        select(memberships.c.role, memberships.c.granted, memberships.c.denied)
        .where(memberships.c.tenant_id == invite["tenant_id"], memberships.c.user_id == invite["created_by"])
    ).mappings().first()
    if author is not None:
        held = effective_permissions(author["role"], author["granted"], author["denied"])
        if "invites.send" in held and not ROLES[invite["role"]] - held:
            return
    raise InviteRevoked("this invite no longer works: whoever sent it can no longer invite to this role; "
                        "ask for a new one", field="code")


def revoke_invites_of(conn: Connection, actor: Actor, author_id: UUID) -> list[RowMapping]:
    """Revoke every pending invite `author_id` sent (they are leaving the company)."""
    return list(conn.execute(
        update(invites)
        .where(invites.c.tenant_id == actor.tenant_id, invites.c.created_by == author_id,
               invites.c.used_at.is_(None), invites.c.revoked_at.is_(None),
               invites.c.expires_at > datetime.now(timezone.utc))
        .values(revoked_at=datetime.now(timezone.utc), revoked_by=actor.user_id)
        .returning(invites)
    ).mappings())


def mark_used(conn: Connection, invite: RowMapping, user_id: UUID) -> RowMapping:
    return (
        conn.execute(
            update(invites)
            .where(invites.c.tenant_id == invite["tenant_id"], invites.c.id == invite["id"])
            .values(used_at=datetime.now(timezone.utc), used_by=user_id)
            .returning(invites)
        )
        .mappings()
        .one()
    )
