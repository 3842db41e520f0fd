"""Nonconformances with their history, and CAPAs with their NCs and actions."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant(primary_key: bool = False) -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False, primary_key=primary_key)


def _user(name: str, nullable: bool = True) -> Column:
    return Column(name, Uuid, ForeignKey("users.id"), nullable=nullable)


nonconformances = Table(
    "nonconformances",
    metadata,
    _tenant(),
    id_column(),
    Column("number", Integer, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'open'")),
    Column("source", String(16), nullable=False, server_default=text("'manual'")),
    Column("source_id", Uuid),
    timestamp("source_at"),  # machine_count: the hour of counted scrap (its start, UTC)
    Column("machine_id", Uuid, nullable=False),
    Column("product_id", Uuid),
    Column("order_id", Uuid),
    Column("lot_id", Uuid),
    Column("quantity", Numeric(14, 3), nullable=False),
    Column("description", Text, nullable=False),
    Column("disposition", String(24)),
    Column("disposition_note", Text),
    _user("dispositioned_by"),
    timestamp("dispositioned_at"),
    _user("closed_by"),
    timestamp("closed_at"),
    _user("reported_by"),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

nonconformance_events = Table(
    "nonconformance_events",
    metadata,
    _tenant(),
    id_column(),
    Column("nonconformance_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'")),
    _user("actor_id"),
    timestamp("at", nullable=False, default=True),
)

capas = Table(
    "capas",
    metadata,
    _tenant(),
    id_column(),
    Column("number", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("status", String(12), nullable=False, server_default=text("'open'")),
    Column("problem", Text, nullable=False),
    Column("containment", Text),
    Column("whys", JSONB, nullable=False, server_default=text("'[]'")),
    Column("root_cause", Text),
    Column("effectiveness_check", Text),
    Column("effective", Boolean),
    _user("owner_id"),
    _user("created_by"),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
    timestamp("closed_at"),
)

capa_nonconformances = Table(
    "capa_nonconformances",
    metadata,
    _tenant(primary_key=True),
    Column("capa_id", Uuid, primary_key=True),
    Column("nonconformance_id", Uuid, primary_key=True),
)

capa_actions = Table(
    "capa_actions",
    metadata,
    _tenant(),
    id_column(),
    Column("capa_id", Uuid, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("description", Text, nullable=False),
    _user("owner_id", nullable=False),
    Column("due_date", Date, nullable=False),
    timestamp("done_at"),
    _user("done_by"),
    Column("done_note", Text),
    timestamp("created_at", nullable=False, default=True),
)
