"""The global catalog of machine models and materials (not tenant-scoped).

Every company reads it; a row is written only by the company that authored it (RLS
policies on `author_tenant_id`, see migration 0004_production).
"""

from sqlalchemy import Column, DateTime, String, Table, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata

catalog_entries = Table(
    "catalog_entries",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("kind", String(20), nullable=False),
    Column("category", String(80), nullable=False),
    Column("manufacturer", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("specs", JSONB, nullable=False, server_default=text("'{}'")),
    Column("author_tenant_id", Uuid, nullable=False),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
