"""A company's webhook endpoints and their delivery log.

The signing secret is made here with `secrets`, returned once at creation and stored encrypted
(Fernet, with the key derived from the server secret for connection passwords): the delivery
worker needs it back to sign, so a one-way hash would not do.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, or_, select, update
from sqlalchemy.sql.functions import now

from factoryos.db.repository import decode_cursor, encode_cursor
from factoryos.errors import ConfigError, NotFound, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.signing import new_secret
from factoryos.integrations.webhook_models import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
)
from factoryos.schema.integrations import webhook_deliveries as wd
from factoryos.schema.integrations import webhook_endpoints as we
from factoryos.schema.integrations import webhook_events as wev

MAX_ENDPOINTS = 50  # per company: each event fans out to every subscriber


def check_url(url: str, field: str = "url") -> str:
    """An absolute http(s) URL with a host, and no credentials in it (they would be logged).

    Private and loopback addresses are allowed on purpose: on-prem, the receivers (a MES, a
    ticket system, a chat bridge) are on the plant's own network, often without public DNS; the
    server's own network position is the boundary an admin chose. Only an admin can add one.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("the address must start with http:// or https://", code="webhook_url_invalid",
                               field=field)
    try:
        host, _port = parts.hostname, parts.port  # .port raises on a port that is not a number
    except ValueError:
        raise ValidationFailed("the address has an invalid port", code="webhook_url_invalid", field=field) from None
    if not host:
        raise ValidationFailed("the address has no host name", code="webhook_url_invalid", field=field)
    if parts.username or parts.password:
        raise ValidationFailed("put no user name or password in the address: receivers check the signature",
                               code="webhook_url_invalid", field=field)
    if any(c.isspace() for c in text):
        raise ValidationFailed("the address may not contain spaces", code="webhook_url_invalid", field=field)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not all(label for label in host.split(".")):
            raise ValidationFailed(f"{host!r} is not a host name", code="webhook_url_invalid", field=field) from None
    return text


def encrypt_secret(keys: DerivedKeys, secret: str) -> str:
    return Fernet(keys.connection_encryption).encrypt(secret.encode()).decode()


def decrypt_secret(keys: DerivedKeys, stored: str) -> str:
    try:
        return Fernet(keys.connection_encryption).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError("this endpoint's secret cannot be read with this server's key: remove and add it again",
                          code="webhook_secret_unreadable", status=409) from None


def _out(row: RowMapping) -> EndpointOut:
    return EndpointOut.model_validate(dict(row))


def audit_view(row: RowMapping | EndpointOut) -> dict[str, Any]:
    """What the audit log keeps of an endpoint (never its secret)."""
    out = row if isinstance(row, EndpointOut) else _out(row)
    return out.model_dump(mode="json", exclude={"created_at", "updated_at"})


def require(conn: Connection, tenant_id: UUID, endpoint_id: UUID, *, for_update: bool = False) -> RowMapping:
    stmt = select(we).where(we.c.tenant_id == tenant_id, we.c.id == endpoint_id)
    row = conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()
    if row is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found", code="webhook_not_found", field="endpoint_id")
    return row


def list_endpoints(conn: Connection, tenant_id: UUID) -> list[EndpointOut]:
    rows = conn.execute(select(we).where(we.c.tenant_id == tenant_id).order_by(we.c.created_at, we.c.id)).mappings()
    return [_out(r) for r in rows]


def get_endpoint(conn: Connection, tenant_id: UUID, endpoint_id: UUID) -> EndpointOut:
    return _out(require(conn, tenant_id, endpoint_id))


def create_endpoint(conn: Connection, tenant_id: UUID, user_id: UUID | None, keys: DerivedKeys,
                    body: EndpointIn) -> EndpointCreated:
    count = conn.execute(select(we.c.id).where(we.c.tenant_id == tenant_id).with_for_update()).all()
    if len(count) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"a company can have at most {MAX_ENDPOINTS} webhook endpoints",
                               code="webhook_limit", field="url")
    secret = new_secret()
    row = conn.execute(insert(we).values(
        tenant_id=tenant_id, url=check_url(body.url), description=body.description.strip(),
        events=sorted(set(body.events)), secret_encrypted=encrypt_secret(keys, secret), enabled=body.enabled,
        created_by=user_id,
    ).returning(*we.c)).mappings().one()
    return EndpointCreated(**_out(row).model_dump(), secret=secret)


def update_endpoint(conn: Connection, tenant_id: UUID, endpoint_id: UUID, body: EndpointPatch) -> tuple[EndpointOut, EndpointOut]:
    """(before, after). Enabling clears the failure count and the reason it was disabled."""
    before = _out(require(conn, tenant_id, endpoint_id, for_update=True))
    values: dict[str, Any] = {"updated_at": now()}
    if body.url is not None:
        values["url"] = check_url(body.url)
    if body.events is not None:
        values["events"] = sorted(set(body.events))
    if body.description is not None:
        values["description"] = body.description.strip()
    if body.enabled is not None:
        values["enabled"] = body.enabled
        if body.enabled:
            values |= {"consecutive_failures": 0, "disabled_reason": None}
    row = conn.execute(update(we).where(we.c.tenant_id == tenant_id, we.c.id == endpoint_id).values(**values)
                       .returning(*we.c)).mappings().one()
    return before, _out(row)


def rotate_secret(conn: Connection, tenant_id: UUID, endpoint_id: UUID, keys: DerivedKeys,
                  overlap: timedelta) -> tuple[EndpointOut, EndpointCreated]:
    """A new secret, returned once; the current one keeps signing as well for `overlap`, so the
    receiver can switch without losing a delivery (it accepts either signature meanwhile)."""
    row = require(conn, tenant_id, endpoint_id, for_update=True)
    secret = new_secret()
    until = func.now() + overlap if overlap > timedelta(0) else None
    after = conn.execute(update(we).where(we.c.tenant_id == tenant_id, we.c.id == endpoint_id).values(
        secret_encrypted=encrypt_secret(keys, secret),
        previous_secret_encrypted=row["secret_encrypted"] if until is not None else None,
        previous_secret_until=until, updated_at=now(),
    ).returning(*we.c)).mappings().one()
    return _out(row), EndpointCreated(**_out(after).model_dump(), secret=secret)


def delete_endpoint(conn: Connection, tenant_id: UUID, endpoint_id: UUID) -> EndpointOut:
    """Remove it with its delivery log (deliveries cascade); events no endpoint needs go too."""
    before = _out(require(conn, tenant_id, endpoint_id, for_update=True))
    conn.execute(delete(we).where(we.c.tenant_id == tenant_id, we.c.id == endpoint_id))
    conn.execute(delete(wev).where(wev.c.tenant_id == tenant_id, ~select(wd.c.id).where(
        wd.c.tenant_id == tenant_id, wd.c.event_id == wev.c.id).exists()))
    return before


_DELIVERY_COLUMNS = (wd.c.id, wd.c.endpoint_id, wd.c.event_id, wev.c.event_type, wd.c.status, wd.c.attempts,
                     wd.c.next_attempt_at, wd.c.last_status_code, wd.c.last_error, wd.c.created_at,
                     wd.c.last_attempt_at, wd.c.delivered_at)


def _delivery(row: RowMapping) -> DeliveryOut:
    data = dict(row)
    if data["status"] != "pending":
        data["next_attempt_at"] = None
    return DeliveryOut.model_validate(data)


def get_delivery(conn: Connection, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> DeliveryOut:
    row = conn.execute(select(*_DELIVERY_COLUMNS).join_from(wd, wev, and_(
        wev.c.tenant_id == wd.c.tenant_id, wev.c.id == wd.c.event_id)).where(
        wd.c.tenant_id == tenant_id, wd.c.endpoint_id == endpoint_id, wd.c.id == delivery_id)).mappings().first()
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found", code="webhook_delivery_not_found", field="delivery_id")
    return _delivery(row)


def list_deliveries(conn: Connection, tenant_id: UUID, endpoint_id: UUID, query: DeliveryQuery) -> DeliveryPage:
    """The endpoint's delivery log, newest first."""
    require(conn, tenant_id, endpoint_id)
    where = [wd.c.tenant_id == tenant_id, wd.c.endpoint_id == endpoint_id]
    if query.status is not None:
        where.append(wd.c.status == query.status)
    if query.cursor:
        at, last = decode_cursor(query.cursor)
        where.append(or_(wd.c.created_at < at, and_(wd.c.created_at == at, wd.c.id < last)))
    rows = conn.execute(
        select(*_DELIVERY_COLUMNS).join_from(wd, wev, and_(wev.c.tenant_id == wd.c.tenant_id, wev.c.id == wd.c.event_id))
        .where(*where).order_by(wd.c.created_at.desc(), wd.c.id.desc()).limit(query.limit + 1)
    ).mappings().all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return DeliveryPage(items=[_delivery(r) for r in rows], next_cursor=cursor)


def retry_delivery(conn: Connection, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> tuple[DeliveryOut, DeliveryOut]:
    """Replay a failed (dead-lettered) delivery: pending again, due now, attempts from zero."""
    before = get_delivery(conn, tenant_id, endpoint_id, delivery_id)
    if before.status != "failed":
        raise ValidationFailed(f"only a failed delivery can be sent again; this one is {before.status}",
                               code="webhook_delivery_not_failed", field="delivery_id")
    conn.execute(update(wd).where(wd.c.tenant_id == tenant_id, wd.c.id == delivery_id).values(
        status="pending", attempts=0, next_attempt_at=now()))
    return before, get_delivery(conn, tenant_id, endpoint_id, delivery_id)
