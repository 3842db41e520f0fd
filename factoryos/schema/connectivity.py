"""Machine connection settings and the health the poller last reported."""

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, String, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _ts(name: str, nullable: bool = True, default: bool = False) -> Column:
    kw = {"server_default": func.now()} if default else {}
    return Column(name, DateTime(timezone=True), nullable=nullable, **kw)


machine_connections = Table(
    "machine_connections",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), primary_key=True),
    Column("machine_id", Uuid, primary_key=True),
    Column("protocol", String(8), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("poll_interval", Float, nullable=False, server_default=text("1.0")),
    Column("endpoint", JSONB, nullable=False),
    Column("signals", JSONB, nullable=False),
    Column("password_encrypted", Text),
    Column("key_password_encrypted", Text),
    _ts("last_ok_at"),
    Column("last_error", Text),
    Column("error_code", String(60)),
    _ts("health_at"),
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
)
