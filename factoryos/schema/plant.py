"""Plant hierarchy: sites (more of the hierarchy lands with the Production issue)."""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text, Uuid, func, text

from factoryos.schema.base import metadata

sites = Table(
    "sites",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("code", String(40), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("address", Text, nullable=True),
    Column("micro_stop_seconds", Integer, nullable=False, server_default=text("120")),
    Column("setup_is_planned", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
