"""A company's MQTT publishing settings: one row per company, its password encrypted at rest.

The password is encrypted like a machine connection's (Fernet, key derived from the server
secret): the publisher needs it back to sign in, so a one-way hash would not do. The publisher
writes its health into the same row, so any server process can answer with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, RowMapping, text

from factoryos.errors import ConfigError, NotFound
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.mqtt_publish_models import MqttPublishHealth, MqttPublishIn, MqttPublishOut

ENTITY = "mqtt_publish_settings"

_GET = text("select s.*, c.name as company_name from mqtt_publish_settings s "
            "join companies c on c.tenant_id = s.tenant_id where s.tenant_id = :tenant")
_UPSERT = text("""
    insert into mqtt_publish_settings (tenant_id, url, username, password_encrypted, ca_certificate,
      client_certificate, client_private_key, mode, group_id, edge_node_id, topic_prefix, interval_seconds,
      oee_seconds, enabled, health, last_error, error_code, health_at, updated_by)
    values (:tenant, :url, :username, :password, :ca, :cert, :key, :mode, :group_id, :edge_node_id, :prefix,
      :interval, :oee, :enabled, :health, null, null, now(), :user)
    on conflict (tenant_id) do update set url = excluded.url, username = excluded.username,
      password_encrypted = excluded.password_encrypted, ca_certificate = excluded.ca_certificate,
      client_certificate = excluded.client_certificate, client_private_key = excluded.client_private_key,
      mode = excluded.mode, group_id = excluded.group_id, edge_node_id = excluded.edge_node_id,
      topic_prefix = excluded.topic_prefix, interval_seconds = excluded.interval_seconds,
      oee_seconds = excluded.oee_seconds, enabled = excluded.enabled, health = excluded.health,
      last_error = null, error_code = null, health_at = now(), updated_by = excluded.updated_by, updated_at = now()
""")
_DELETE = text("delete from mqtt_publish_settings where tenant_id = :tenant")
_HEALTH = text("""
    update mqtt_publish_settings set health = :health, last_error = :error, error_code = :code, health_at = now(),
      last_connected_at = case when :connected then now() else last_connected_at end,
      last_published_at = coalesce(cast(:published as timestamptz), last_published_at)
    where tenant_id = :tenant and updated_at = :version
""")


def encrypt_password(keys: DerivedKeys, password: str) -> str:
    # The connections' key (connectivity.credentials), not imported from there: connectivity
    # depends on production, which depends on this package.
    return Fernet(keys.connection_encryption).encrypt(password.encode()).decode()


def decrypt_password(keys: DerivedKeys, stored: str) -> str:
    try:
        return Fernet(keys.connection_encryption).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ConfigError("the stored broker password cannot be read with this server's key: enter it again",
                          code="mqtt_publish_secret_unreadable", status=409) from None


def topic_safe(value: str, fallback: str = "_") -> str:
    """One topic level (or Sparkplug id) from a name or code: no `/`, `+`, `#` or spaces, ASCII
    where the name allows it, so subscribers can type it."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    out = re.sub(r"[^A-Za-z0-9_.:-]+", "-", ascii_).strip("-.")
    return out[:64] or fallback


@dataclass(frozen=True)
class PublishConfig:
    """What the publisher needs of a company's settings (password decrypted)."""

    tenant_id: UUID
    url: str
    username: str | None
    password: str | None
    ca_certificate: Path | None
    client_certificate: Path | None
    client_private_key: Path | None
    mode: str
    group_id: str
    edge_node_id: str
    topic_prefix: str
    interval_seconds: int
    oee_seconds: int
    enabled: bool
    version: Any  # updated_at: health written for an older version of the settings is dropped

    @property
    def tls(self) -> bool:
        return self.url.startswith("mqtts://")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    @property
    def sparkplug(self) -> bool:
        return self.mode in ("sparkplug", "both")

    @property
    def tree(self) -> bool:
        return self.mode in ("tree", "both")


def _row(conn: Connection, tenant_id: UUID) -> RowMapping | None:
    return conn.execute(_GET, {"tenant": tenant_id}).mappings().first()


def _out(row: RowMapping) -> MqttPublishOut:
    return MqttPublishOut(
        url=row["url"], username=row["username"], password_set=row["password_encrypted"] is not None,
        ca_certificate=row["ca_certificate"], client_certificate=row["client_certificate"],
        client_private_key=row["client_private_key"], mode=row["mode"], group_id=row["group_id"],
        edge_node_id=row["edge_node_id"], topic_prefix=row["topic_prefix"], interval_seconds=row["interval_seconds"],
        oee_seconds=row["oee_seconds"], enabled=row["enabled"],
        health=MqttPublishHealth(state=row["health"], last_error=row["last_error"], error_code=row["error_code"],
                                 last_connected_at=row["last_connected_at"],
                                 last_published_at=row["last_published_at"], at=row["health_at"]),
        created_at=row["created_at"], updated_at=row["updated_at"])


def audit_view(out: MqttPublishOut | None) -> dict[str, Any] | None:
    """What the audit log keeps (never the password, nor the publisher's health)."""
    if out is None:
        return None
    return out.model_dump(mode="json", exclude={"health", "created_at", "updated_at"})


def get_settings(conn: Connection, tenant_id: UUID) -> MqttPublishOut:
    row = _row(conn, tenant_id)
    if row is None:
        raise NotFound("MQTT publishing is not set up for this company", code="mqtt_publish_not_configured")
    return _out(row)


def find_settings(conn: Connection, tenant_id: UUID) -> MqttPublishOut | None:
    row = _row(conn, tenant_id)
    return _out(row) if row is not None else None


def _company_name(conn: Connection, tenant_id: UUID) -> str:
    return conn.execute(text("select name from companies where tenant_id = :t"), {"t": tenant_id}).scalar_one()


def put_settings(conn: Connection, tenant_id: UUID, user_id: UUID | None, keys: DerivedKeys,
                 body: MqttPublishIn) -> tuple[MqttPublishOut | None, MqttPublishOut]:
    """(before, after). Saving resets the health: the publisher reconnects with the new settings."""
    before_row = _row(conn, tenant_id)
    if body.password is None:
        stored = before_row["password_encrypted"] if before_row is not None else None
    elif body.password.get_secret_value() == "":
        stored = None
    else:
        stored = encrypt_password(keys, body.password.get_secret_value())
    prefix = body.topic_prefix or topic_safe(_company_name(conn, tenant_id), "factoryos")
    conn.execute(_UPSERT, {
        "tenant": tenant_id, "url": body.url.rstrip("/"), "username": body.username, "password": stored,
        "ca": _path(body.ca_certificate), "cert": _path(body.client_certificate), "key": _path(body.client_private_key),
        "mode": body.mode, "group_id": body.group_id or topic_safe(prefix.split("/")[0]),
        "edge_node_id": body.edge_node_id, "prefix": prefix, "interval": body.interval_seconds,
        "oee": body.oee_seconds, "enabled": body.enabled, "health": "connecting" if body.enabled else "disabled",
        "user": user_id,
    })
    after = _row(conn, tenant_id)
    assert after is not None
    return (_out(before_row) if before_row is not None else None), _out(after)


def _path(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def delete_settings(conn: Connection, tenant_id: UUID) -> MqttPublishOut:
    before = get_settings(conn, tenant_id)
    conn.execute(_DELETE, {"tenant": tenant_id})
    return before


def load_config(conn: Connection, tenant_id: UUID, keys: DerivedKeys) -> PublishConfig | None:
    """The publisher's view of the settings; raises ConfigError when the password cannot be read."""
    row = _row(conn, tenant_id)
    if row is None:
        return None
    password = None
    if row["password_encrypted"] is not None:
        password = decrypt_password(keys, row["password_encrypted"])

    def path(name: str) -> Path | None:
        return Path(row[name]) if row[name] else None

    return PublishConfig(
        tenant_id=tenant_id, url=row["url"], username=row["username"], password=password,
        ca_certificate=path("ca_certificate"), client_certificate=path("client_certificate"),
        client_private_key=path("client_private_key"), mode=row["mode"], group_id=row["group_id"],
        edge_node_id=row["edge_node_id"], topic_prefix=row["topic_prefix"], interval_seconds=row["interval_seconds"],
        oee_seconds=row["oee_seconds"], enabled=row["enabled"], version=row["updated_at"])


def config_of(tenant_id: UUID, body: MqttPublishIn, stored: PublishConfig | None, company_name: str) -> PublishConfig:
    """Unsaved settings as the publisher would use them (for `test`): a password left out is the stored one."""
    if body.password is None:
        password = stored.password if stored is not None else None
    else:
        password = body.password.get_secret_value() or None
    prefix = body.topic_prefix or topic_safe(company_name, "factoryos")
    return PublishConfig(
        tenant_id=tenant_id, url=body.url.rstrip("/"), username=body.username, password=password,
        ca_certificate=body.ca_certificate, client_certificate=body.client_certificate,
        client_private_key=body.client_private_key, mode=body.mode,
        group_id=body.group_id or topic_safe(prefix.split("/")[0]), edge_node_id=body.edge_node_id,
        topic_prefix=prefix, interval_seconds=body.interval_seconds, oee_seconds=body.oee_seconds,
        enabled=body.enabled, version=None)


def company_name(conn: Connection, tenant_id: UUID) -> str:
    return _company_name(conn, tenant_id)


def write_health(conn: Connection, config: PublishConfig, health: str, error: str | None = None,
                 code: str | None = None, published: Any = None) -> None:
    """The publisher's report; ignored when the settings were saved again meanwhile."""
    conn.execute(_HEALTH, {"tenant": config.tenant_id, "health": health, "connected": health == "connected",
                           "error": error, "code": code, "published": published, "version": config.version})
