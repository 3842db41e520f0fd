"""A company's SCIM bearer token: issued (shown once), rotated, turned off, and resolved to its company.

Only the token's SHA-256 is stored. A token reads `scim_<company id>_<secret>`: the company id sets
the tenant, then the hash is looked up under row-level security (migration 0022_scim), so no
cross-tenant lookup exists and a forged company id finds nothing.
Rotating ends the tokens in force at once, or the one being replaced after an overlap (so the
identity provider can be updated without a gap); a token issued before that one ends at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, insert, or_, select, update

from factoryos.db.tenant import set_tenant
from factoryos.errors import ValidationFailed
from factoryos.schema.sso import scim_groups, scim_tokens, scim_users, sso_providers
from factoryos.sso.registry import provider_row
from factoryos.sso.scim_models import ScimStatus, ScimTokenIn

ENDPOINT = "/scim/v2"
PREFIX = "scim_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ScimCaller:
    """Whose token called: the company, the token and the provider whose rules map groups to roles."""

    tenant_id: UUID
    token_id: UUID
    provider: RowMapping


def resolve_token(conn: Connection, token: str) -> ScimCaller | None:
    """The company a token in force belongs to, with the transaction's tenant set to it; None if none."""
    prefix, _, rest = token.partition("_")
    company, _, secret = rest.partition("_")
    if prefix + "_" != PREFIX or not secret or len(token) > 200:
        return None
    try:
        tenant_id = UUID(hex=company)
    except ValueError:
        return None
    set_tenant(conn, tenant_id)
    found = conn.execute(
        select(scim_tokens.c.id, scim_tokens.c.provider_id)
        .where(scim_tokens.c.tenant_id == tenant_id, scim_tokens.c.token_hash == token_hash(token),
               or_(scim_tokens.c.ends_at.is_(None), scim_tokens.c.ends_at > func.now()))
    ).first()
    if found is None:
        set_tenant(conn, None)
        return None
    return ScimCaller(tenant_id, found.id, provider_row(conn, tenant_id, found.provider_id))


def _live(tenant_id: UUID) -> Any:
    return (scim_tokens.c.tenant_id == tenant_id) & or_(scim_tokens.c.ends_at.is_(None),
                                                         scim_tokens.c.ends_at > func.now())


def status(conn: Connection, tenant_id: UUID) -> ScimStatus:
    current = conn.execute(
        select(scim_tokens, sso_providers.c.name.label("provider_name"))
        .join(sso_providers, (sso_providers.c.tenant_id == scim_tokens.c.tenant_id)
              & (sso_providers.c.id == scim_tokens.c.provider_id))
        .where(scim_tokens.c.tenant_id == tenant_id, scim_tokens.c.ends_at.is_(None))
    ).mappings().first()
    previous = conn.execute(select(func.max(scim_tokens.c.ends_at)).where(
        _live(tenant_id), scim_tokens.c.ends_at.is_not(None))).scalar()
    users = conn.execute(select(func.count()).select_from(scim_users)
                         .where(scim_users.c.tenant_id == tenant_id)).scalar_one()
    groups = conn.execute(select(func.count()).select_from(scim_groups)
                          .where(scim_groups.c.tenant_id == tenant_id)).scalar_one()
    if current is None:
        return ScimStatus(enabled=False, endpoint=ENDPOINT, previous_ends_at=previous, users=users, groups=groups)
    return ScimStatus(enabled=True, endpoint=ENDPOINT, provider_id=current["provider_id"],
                      provider_name=current["provider_name"], token_hint=current["token_hint"],
                      created_at=current["created_at"], previous_ends_at=previous, users=users, groups=groups)


def issue(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: ScimTokenIn) -> tuple[str, ScimStatus]:
    """A new current token (returned in clear, this once); the ones in force end now or after the overlap."""
    current = conn.execute(select(scim_tokens).where(scim_tokens.c.tenant_id == tenant_id,
                                                     scim_tokens.c.ends_at.is_(None)).with_for_update()
                           ).mappings().first()
    provider_id = body.provider_id or (current["provider_id"] if current is not None else None)
    if provider_id is None:
        raise ValidationFailed("choose the identity provider whose group rules SCIM groups follow",
                               code="scim_provider_required", field="provider_id")
    provider_row(conn, tenant_id, provider_id)  # 404 when not this company's
    conn.execute(update(scim_tokens).where(_live(tenant_id)).values(ends_at=func.now()))
    if current is not None and body.overlap_minutes:
        conn.execute(update(scim_tokens).where(scim_tokens.c.tenant_id == tenant_id, scim_tokens.c.id == current["id"])
                     .values(ends_at=func.now() + timedelta(minutes=body.overlap_minutes)))
    token = f"{PREFIX}{tenant_id.hex}_{secrets.token_urlsafe(32)}"
    conn.execute(insert(scim_tokens).values(tenant_id=tenant_id, provider_id=provider_id, token_hash=token_hash(token),
                                            token_hint="…" + token[-6:], created_by=user_id))
    return token, status(conn, tenant_id)


def turn_off(conn: Connection, tenant_id: UUID) -> int:
    """End every token in force at once; how many ended."""
    return conn.execute(update(scim_tokens).where(_live(tenant_id)).values(ends_at=func.now())).rowcount
