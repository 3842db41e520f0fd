"""Electronic signatures (append-only) and the count of wrong signing passwords per session."""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _tenant(primary_key: bool = False) -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False, primary_key=primary_key)


signatures = Table(
    "signatures",
    metadata,
    _tenant(),
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("record_type", String(60), nullable=False),
    Column("record_id", Uuid, nullable=False),
    Column("signer_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("signer_name", String(200), nullable=False),
    Column("signer_email", String(320), nullable=False),
    Column("meaning", String(20), nullable=False),
    Column("reason", Text),
    Column("content_hash", String(64), nullable=False),
    Column("content", JSONB, nullable=False),
    Column("method", String(20), nullable=False),
    Column("session_id", Uuid),
    Column("signed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

signature_failures = Table(
    "signature_failures",
    metadata,
    _tenant(primary_key=True),
    Column("session_id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
