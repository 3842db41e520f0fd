"""Proving one's identity again inside a session (electronic signatures): people whose password
lives in the company's LDAP directory bind as themselves, as at sign-in; people who sign in only
through OIDC or SAML sign in at their provider again (below)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select, update

from factoryos.errors import PermissionDenied, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.schema.sso import sso_handoffs, sso_identities, sso_providers
from factoryos.sso.ldap import DirectoryRefused, DirectoryUnavailable, LdapDirectory
from factoryos.sso.ldap_config import LdapConfig
from factoryos.sso.registry import provider_secret
from factoryos.sso.saml_flows import expired, unseal_handle
from factoryos.sso.signin import NO_PASSWORD


def directory_password_ok(conn: Connection, keys: DerivedKeys, tenant_id: UUID, user: Mapping[Any, Any],
                          password: str) -> bool | None:
    """True when `password` binds as `user` in an LDAP directory the user signs in through
    (the same person: the directory's subject matches their linked identity); False when it
    does not; None when the user signs in through no directory of this company. A directory
    that cannot be reached raises `DirectoryUnavailable` naming it: that is no wrong password."""
    rows = conn.execute(
        select(sso_identities.c.subject, sso_providers.c.name, sso_providers.c.config,
               sso_providers.c.secret_encrypted)
        .join(sso_providers, (sso_providers.c.tenant_id == sso_identities.c.tenant_id)
              & (sso_providers.c.id == sso_identities.c.provider_id))
        .where(sso_identities.c.tenant_id == tenant_id, sso_identities.c.user_id == user["id"],
               sso_providers.c.kind == "ldap", sso_providers.c.enabled)
    ).mappings().all()
    if not rows:
        return None
    down: DirectoryUnavailable | None = None
    for row in rows:
        directory = LdapDirectory(LdapConfig.model_validate(row["config"]), provider_secret(keys, row), row["name"])
        try:
            person = directory.authenticate(user["email"], password)
        except DirectoryUnavailable as exc:
            down = exc
            continue
        except DirectoryRefused:
            continue
        if person is not None and person.subject == row["subject"]:
            return True
    if down is not None:
        raise down
    return False


# ---- people who sign in only through OIDC or SAML: a fresh sign-in at the provider ----------------
#
# At the moment of signing, the signer asks for a re-authentication (`start_reauth`): a hand-off
# row bound to them and to a fresh nonce, completed in a browser where the provider makes them
# sign in again (OIDC prompt=login + max_age=0; SAML ForceAuthn). The signature then presents
# the hand-off (`consume_reauth`): it must be theirs, completed by the same person the account is
# linked to, with a provider sign-in made after the request, and unused.

REAUTH_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class ReauthProvider:
    provider_id: UUID
    kind: str  # oidc | saml
    name: str
    subject: str


@dataclass(frozen=True)
class ReauthProof:
    """What the signature records of the provider re-authentication."""

    kind: str
    provider_id: UUID
    provider: str
    subject: str
    auth_time: datetime
    handoff_id: UUID

    def audit_view(self) -> dict[str, Any]:
        return {"protocol": self.kind, "provider": self.provider, "provider_id": str(self.provider_id),
                "subject": self.subject, "auth_time": self.auth_time.isoformat(), "handoff": str(self.handoff_id)}


def reauth_provider(conn: Connection, tenant_id: UUID, user_id: UUID) -> ReauthProvider | None:
    """The OIDC or SAML provider the user last signed in through, when it is still enabled."""
    row = conn.execute(
        select(sso_identities.c.subject, sso_providers.c.id, sso_providers.c.kind, sso_providers.c.name)
        .join(sso_providers, (sso_providers.c.tenant_id == sso_identities.c.tenant_id)
              & (sso_providers.c.id == sso_identities.c.provider_id))
        .where(sso_identities.c.tenant_id == tenant_id, sso_identities.c.user_id == user_id,
               sso_providers.c.kind.in_(("oidc", "saml")), sso_providers.c.enabled)
        .order_by(sso_identities.c.last_sign_in_at.desc().nulls_last())
    ).first()
    return ReauthProvider(row.id, row.kind, row.name, row.subject) if row is not None else None


def needs_provider(user: Mapping[Any, Any]) -> bool:
    """Accounts made by a provider have no password: they can only sign by re-authenticating there."""
    return bool(user["password_hash"] == NO_PASSWORD)


def reauth_required(conn: Connection, tenant_id: UUID, user_id: UUID) -> ValidationFailed:
    provider = reauth_provider(conn, tenant_id, user_id)
    where = f"with {provider.name}" if provider else "with your company's identity provider"
    return ValidationFailed(f"you sign in {where}: confirm who you are there to sign (no password here)",
                            code="signature_reauth_required", field="signature.reauth",
                            extra={"provider": provider.name if provider else None})


def consume_reauth(conn: Connection, keys: DerivedKeys, tenant_id: UUID, user_id: UUID, handle: str) -> ReauthProof:
    """The proof of a completed, fresh, unused re-authentication of `user_id`; it is used up."""
    refused = PermissionDenied("this confirmation is not valid for you (used, expired, or someone else's): "
                               "confirm again", code="signature_reauth_invalid", field="signature.reauth")
    try:
        sealed = unseal_handle(keys, handle)
    except ValidationFailed:
        raise refused from None
    if UUID(sealed.tenant_id) != tenant_id:
        raise refused
    row = conn.execute(select(sso_handoffs).where(
        sso_handoffs.c.tenant_id == tenant_id, sso_handoffs.c.id == UUID(sealed.handoff_id),
        sso_handoffs.c.purpose == "reauth").with_for_update()).mappings().first()
    if row is None or row["user_id"] != user_id or row["status"] == "consumed" or expired(row):
        raise refused
    if row["status"] == "pending":
        raise ValidationFailed("the confirmation at the identity provider is not finished yet",
                               code="signature_reauth_pending", field="signature.reauth")
    provider = reauth_provider(conn, tenant_id, user_id)
    who: dict[str, Any] = dict(row["identity"] or {})
    if row["status"] != "done" or provider is None or provider.provider_id != row["provider_id"]:
        raise refused
    if not secrets.compare_digest(str(who.get("subject", "")), provider.subject):
        raise PermissionDenied(f"{provider.name} confirmed another person than the one signed in here: nothing "
                               "was signed", code="signature_reauth_invalid", field="signature.reauth")
    when = who.get("authn_instant") or who.get("auth_time")
    auth_time = datetime.fromisoformat(str(when)) if when else None
    if auth_time is None or auth_time < row["created_at"] - REAUTH_SKEW:
        raise PermissionDenied(f"{provider.name} did not ask for your password again (an earlier sign-in was "
                               "reused): confirm again", code="signature_reauth_invalid", field="signature.reauth")
    conn.execute(update(sso_handoffs).where(sso_handoffs.c.tenant_id == tenant_id, sso_handoffs.c.id == row["id"])
                 .values(status="consumed"))
    return ReauthProof(kind=provider.kind, provider_id=provider.provider_id, provider=provider.name,
                       subject=provider.subject, auth_time=auth_time, handoff_id=row["id"])
