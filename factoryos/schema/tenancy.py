"""Companies (the tenants) and per-tenant request idempotency records."""

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata

# The company's id *is* its tenant_id, so the one RLS policy shape covers this table too.
companies = Table(
    "companies",
    metadata,
    Column("tenant_id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=True),
    Column("content_type", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
