"""What a SAML sign-in keeps between its requests, and the replay store.

A hand-off row (`sso_handoffs`) is made when a sign-in starts: for a terminal ("device"
channel: a short code the person types at the server's page, then the terminal polls), or for
the browser that started it ("browser" channel: bound to a cookie). Its id travels as the SAML
RelayState (80 bytes at most by the standard, so no sealed blob there), the AuthnRequest id it
waits for is kept in the row, and the assertion consumer service completes it once. The
terminal's `handle` is sealed (Fernet under a key derived from the server secret) so that only
the terminal that started a sign-in can collect it.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import set_tenant
from factoryos.errors import NotFound, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.schema.sso import saml_assertions_used, sso_handoffs
from factoryos.sso.registry import provider_row, providers_for_email
from factoryos.sso.saml import Assertion

HANDLE_PREFIX = "saml."  # tells the shared device poll which protocol a handle belongs to
DEVICE_TTL = timedelta(minutes=10)
BROWSER_TTL = timedelta(minutes=10)
POLL_INTERVAL = 3
_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words; no look-alike digits (RFC 8628 6.1)

Channel = Literal["device", "browser"]
Purpose = Literal["sign_in", "reauth"]


def new_user_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalpha())
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else code.strip().upper()


@dataclass(frozen=True)
class Handle:
    tenant_id: str
    provider_id: str
    handoff_id: str


def _fernet(keys: DerivedKeys) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"factoryos/saml-handoff").derive(keys.lookup)
    return Fernet(base64.urlsafe_b64encode(key))


def seal_handle(keys: DerivedKeys, handle: Handle) -> str:
    return HANDLE_PREFIX + _fernet(keys).encrypt(json.dumps(asdict(handle)).encode()).decode()


def unseal_handle(keys: DerivedKeys, token: str) -> Handle:
    try:
        data: dict[str, Any] = json.loads(_fernet(keys).decrypt(token.removeprefix(HANDLE_PREFIX).encode()))
        return Handle(**data)
    except (InvalidToken, ValueError, TypeError):
        raise ValidationFailed("this sign-in is unknown to the server: start it again", code="sso_flow_invalid",
                               field="handle") from None


def saml_provider(conn: Connection, tenant_id: UUID, provider_id: UUID) -> RowMapping:
    """An enabled SAML provider of the company (the transaction's tenant is that company's)."""
    set_tenant(conn, tenant_id)
    try:
        row = provider_row(conn, tenant_id, provider_id)
    except NotFound:
        row = None
    if row is None or row["kind"] != "saml" or not row["enabled"]:
        raise NotFound("no SAML sign-in is set up here: ask your administrator", code="sso_no_provider",
                       field="provider_id")
    return row


def route_email(conn: Connection, email: str, provider_id: UUID | None) -> tuple[UUID, UUID] | None:
    """(company, provider) of the SAML provider serving the email's domain, if one does."""
    for p in providers_for_email(conn, email):
        if p.kind == "saml" and (provider_id is None or p.provider_id == provider_id):
            return p.tenant_id, p.provider_id
    return None


def start(conn: Connection, tenant_id: UUID, provider_id: UUID, *, channel: Channel, purpose: Purpose = "sign_in",
          binding: str | None = None, user_id: UUID | None = None) -> RowMapping:
    ttl = DEVICE_TTL if channel == "device" else BROWSER_TTL
    for _ in range(5):  # a code already in use (one in 2.5e10) is drawn again
        try:
            with conn.begin_nested():
                return conn.execute(insert(sso_handoffs).values(
                    tenant_id=tenant_id, provider_id=provider_id, channel=channel, purpose=purpose,
                    user_code=new_user_code(), binding=binding, user_id=user_id,
                    expires_at=datetime.now(timezone.utc) + ttl,
                ).returning(sso_handoffs)).mappings().one()
        except IntegrityError:
            continue
    raise RuntimeError("no free sign-in code")


def by_code(conn: Connection, tenant_id: UUID, provider_id: UUID, code: str) -> RowMapping | None:
    return conn.execute(select(sso_handoffs).where(
        sso_handoffs.c.tenant_id == tenant_id, sso_handoffs.c.provider_id == provider_id,
        sso_handoffs.c.user_code == normalize_code(code), sso_handoffs.c.channel == "device",
    ).with_for_update()).mappings().first()


def reauth_by_code(conn: Connection, tenant_id: UUID, code: str) -> RowMapping | None:
    """A signature's re-authentication by the code its terminal shows (any provider of the company)."""
    return conn.execute(select(sso_handoffs).where(
        sso_handoffs.c.tenant_id == tenant_id, sso_handoffs.c.user_code == normalize_code(code),
        sso_handoffs.c.purpose == "reauth", sso_handoffs.c.status == "pending",
    ).order_by(sso_handoffs.c.created_at.desc()).limit(1).with_for_update()).mappings().first()


def by_id(conn: Connection, tenant_id: UUID, provider_id: UUID, handoff_id: str) -> RowMapping | None:
    try:
        key = UUID(handoff_id)
    except ValueError:
        return None
    return conn.execute(select(sso_handoffs).where(
        sso_handoffs.c.tenant_id == tenant_id, sso_handoffs.c.provider_id == provider_id,
        sso_handoffs.c.id == key).with_for_update()).mappings().first()


def expired(row: RowMapping) -> bool:
    return bool(row["expires_at"] <= datetime.now(timezone.utc))


def set_request(conn: Connection, row: RowMapping, request_id: str) -> None:
    conn.execute(update(sso_handoffs).where(sso_handoffs.c.tenant_id == row["tenant_id"],
                                             sso_handoffs.c.id == row["id"]).values(request_id=request_id))


def finish(conn: Connection, row: RowMapping, *, identity: dict[str, Any] | None = None,
           refusal: dict[str, Any] | None = None, status: str | None = None) -> None:
    values: dict[str, Any] = {"status": status or ("done" if identity is not None else "refused")}
    if identity is not None:
        values["identity"] = identity
    if refusal is not None:
        values["refusal"] = refusal
    conn.execute(update(sso_handoffs).where(sso_handoffs.c.tenant_id == row["tenant_id"],
                                             sso_handoffs.c.id == row["id"]).values(**values))


def identity_record(assertion: Assertion) -> dict[str, Any]:
    return {"subject": assertion.subject, "email": assertion.email, "name": assertion.name,
            "groups": list(assertion.groups), "assertion_id": assertion.assertion_id, "issuer": assertion.issuer,
            "authn_instant": assertion.authn_instant.isoformat() if assertion.authn_instant else None}


def consume_assertion_id(conn: Connection, tenant_id: UUID, provider_id: UUID, assertion: Assertion) -> bool:
    """Record the assertion's id until it expires; False when it was already used (a replay)."""
    now = datetime.now(timezone.utc)
    conn.execute(delete(saml_assertions_used).where(saml_assertions_used.c.tenant_id == tenant_id,
                                                    saml_assertions_used.c.expires_at < now))
    stored = conn.execute(
        pg_insert(saml_assertions_used).values(tenant_id=tenant_id, provider_id=provider_id,
                                               assertion_id=assertion.assertion_id[:256],
                                               expires_at=assertion.expires_at)
        .on_conflict_do_nothing().returning(saml_assertions_used.c.assertion_id)
    ).first()
    return stored is not None
