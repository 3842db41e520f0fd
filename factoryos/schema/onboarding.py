"""Each company's onboarding wizard: the step it is on and what was done or skipped."""

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata

onboarding_state = Table(
    "onboarding_state",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), primary_key=True),
    Column("current_step", String(32), nullable=False, server_default=text("'connect_erp'")),
    Column("steps", JSONB, nullable=False, server_default=text("'{}'")),
    Column("completed_at", DateTime(timezone=True)),
    Column("updated_by", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
