"""Shift handover notes and supervisors' sign-offs of shift reports (both append-only)."""

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text, Uuid, func, text

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False)


shift_handover_notes = Table(
    "shift_handover_notes",
    metadata,
    _tenant(),
    _id(),
    Column("shift_instance_id", Uuid, nullable=False),
    Column("author_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

shift_signoffs = Table(
    "shift_signoffs",
    metadata,
    _tenant(),
    _id(),
    Column("shift_instance_id", Uuid, nullable=False),
    Column("signer_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("signer_name", String(200), nullable=False),
    Column("meaning", String(20), nullable=False),
    Column("reason", Text),
    Column("content_hash", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
