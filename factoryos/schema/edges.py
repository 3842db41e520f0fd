"""Registered site edges (see migration 0027_edges)."""

from sqlalchemy import Column, ForeignKey, String, Table, Text, Uuid

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp

edges = Table(
    "edges",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    id_column(),
    Column("site_id", Uuid, nullable=False),
    Column("name", String(100), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("created_by", Uuid, ForeignKey("users.id")),
    timestamp("created_at", default=True, nullable=False),
    timestamp("rotated_at"),
    timestamp("revoked_at"),
)
