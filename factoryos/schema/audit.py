"""The append-only audit log and the per-tenant head of its hash chain."""

from sqlalchemy import CHAR, BigInteger, Column, DateTime, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid, nullable=False),
    Column("tenant_id", Uuid, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("actor_id", Uuid),
    Column("action", Text, nullable=False),
    Column("entity_type", Text, nullable=False),
    Column("entity_id", Text),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("client_ip", Text),
    Column("user_agent", Text),
    Column("request_id", Text),
    Column("prev_hash", CHAR(64), nullable=False),
    Column("row_hash", CHAR(64), nullable=False),
)

audit_chain_heads = Table(
    "audit_chain_heads",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("row_hash", CHAR(64), nullable=False),
)
