"""Webhook endpoints, the outbox of events and their deliveries (see migration 0020_webhooks)."""

from sqlalchemy import ARRAY, Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False)


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=func.now() if default else None)


webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _tenant(),
    _id(),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False, server_default=text("''")),
    Column("events", ARRAY(Text), nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    Column("previous_secret_encrypted", Text),
    _ts("previous_secret_until"),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("disabled_reason", Text),
    Column("created_by", Uuid, ForeignKey("users.id")),
    _ts("created_at", default=True, nullable=False),
    _ts("updated_at", default=True, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    _tenant(),
    _id(),
    Column("event_type", String(60), nullable=False),
    Column("payload", JSONB, nullable=False),
    _ts("occurred_at", nullable=False),
    _ts("created_at", default=True, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _tenant(),
    _id(),
    Column("endpoint_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _ts("next_attempt_at", default=True, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    _ts("created_at", default=True, nullable=False),
    _ts("last_attempt_at"),
    _ts("delivered_at"),
)
