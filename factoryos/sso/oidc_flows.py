"""What an OIDC sign-in keeps between its two requests (start → poll, start → callback), and
which provider a request means.

The record travels sealed (Fernet: AES + HMAC under a key derived from the server secret), as
the device flow's `handle` and the browser flow's `state`: every server process can open it, no
one else can read or change it, and it carries its own expiry. The device code and the PKCE
verifier inside never leave the server in clear. A reused device code is refused by the
provider itself (one exchange per code) and by the expiry sealed here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, RowMapping

from factoryos.db.tenant import set_tenant
from factoryos.errors import NotFound, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.sso.oidc import OidcClient
from factoryos.sso.oidc_config import client_of
from factoryos.sso.registry import provider_row, provider_secret, providers_for_email

BROWSER_TTL = 600  # seconds from "start" to the provider's callback


@dataclass(frozen=True)
class Flow:
    kind: Literal["device", "browser", "reauth"]
    tenant_id: str
    provider_id: str
    expires_at: float
    device_code: str | None = None
    interval: int = 5
    nonce: str | None = None
    verifier: str | None = None
    redirect_uri: str | None = None
    binding: str | None = None  # browser: sha256 of the cookie set at start (login CSRF)
    handoff_id: str | None = None  # reauth: the signature's hand-off row (sso_handoffs) it completes

    @property
    def expired(self) -> bool:
        return time.time() > self.expires_at


def _fernet(keys: DerivedKeys) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"factoryos/oidc-flow").derive(keys.lookup)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(keys: DerivedKeys, flow: Flow) -> str:
    return _fernet(keys).encrypt(json.dumps(asdict(flow), separators=(",", ":")).encode()).decode()


def unseal(keys: DerivedKeys, token: str, kind: str | tuple[str, ...], *, field: str) -> Flow:
    try:
        data: dict[str, Any] = json.loads(_fernet(keys).decrypt(token.encode()))
        flow = Flow(**data)
    except (InvalidToken, ValueError, TypeError):
        raise ValidationFailed("this sign-in is unknown to the server: start it again", code="sso_flow_invalid",
                               field=field) from None
    if flow.kind not in ((kind,) if isinstance(kind, str) else kind):
        raise ValidationFailed("this sign-in is unknown to the server: start it again", code="sso_flow_invalid",
                               field=field)
    return flow


def binding_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Resolved:
    tenant_id: UUID
    row: RowMapping
    client: OidcClient


def resolve(conn: Connection, keys: DerivedKeys, *, email: str | None, provider_id: UUID | None,
            company_id: UUID | None) -> Resolved:
    """The enabled OIDC provider an email (or a company and provider id) names; the transaction's
    tenant is that company's afterwards."""
    if email:
        routed = [p for p in providers_for_email(conn, email) if p.kind == "oidc"
                  and (provider_id is None or p.provider_id == provider_id)]
        if not routed:
            raise NotFound("no OpenID Connect sign-in serves this email's domain: sign in with your password "
                           "or ask your administrator", code="sso_no_provider", field="email")
        tenant_id, provider_id = routed[0].tenant_id, routed[0].provider_id
    elif provider_id is not None and company_id is not None:
        tenant_id = company_id
    else:
        raise ValidationFailed("give your email (or a company and provider id)", code="sso_no_provider",
                               field="email")
    set_tenant(conn, tenant_id)
    row = provider_row(conn, tenant_id, provider_id)
    if row["kind"] != "oidc" or not row["enabled"]:
        raise NotFound("no OpenID Connect sign-in serves this email's domain: sign in with your password "
                       "or ask your administrator", code="sso_no_provider", field="provider_id")
    return Resolved(tenant_id, row, client_of(row["name"], dict(row["config"]), provider_secret(keys, row)))


def reopen(conn: Connection, keys: DerivedKeys, flow: Flow) -> Resolved:
    """The provider of a sealed flow, read again (it may have been changed or turned off since)."""
    tenant_id = UUID(flow.tenant_id)
    set_tenant(conn, tenant_id)
    try:
        row = provider_row(conn, tenant_id, UUID(flow.provider_id))
    except NotFound:
        raise NotFound("the identity provider of this sign-in was removed: start again",
                       code="sso_no_provider") from None
    if row["kind"] != "oidc":
        raise NotFound("the identity provider of this sign-in was removed: start again", code="sso_no_provider")
    return Resolved(tenant_id, row, client_of(row["name"], dict(row["config"]), provider_secret(keys, row)))
