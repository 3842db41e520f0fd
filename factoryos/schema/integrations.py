"""Webhook endpoints, the outbox of events and their deliveries (see migration 0020_webhooks)."""

from sqlalchemy import ARRAY, Boolean, Column, ForeignKey, Integer, String, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant() -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False)


webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _tenant(),
    id_column(),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False, server_default=text("''")),
    Column("events", ARRAY(Text), nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    Column("previous_secret_encrypted", Text),
    timestamp("previous_secret_until"),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("disabled_reason", Text),
    Column("created_by", Uuid, ForeignKey("users.id")),
    timestamp("created_at", default=True, nullable=False),
    timestamp("updated_at", default=True, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    _tenant(),
    id_column(),
    Column("event_type", String(60), nullable=False),
    Column("payload", JSONB, nullable=False),
    timestamp("occurred_at", nullable=False),
    timestamp("created_at", default=True, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _tenant(),
    id_column(),
    Column("endpoint_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("status", String(10), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    timestamp("next_attempt_at", default=True, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    timestamp("created_at", default=True, nullable=False),
    timestamp("last_attempt_at"),
    timestamp("delivered_at"),
)
