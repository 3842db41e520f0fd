"""Plant hierarchy: sites → areas → lines → machines, and the operators of each site."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False)


def _created() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _updated() -> Column:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


sites = Table(
    "sites",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("code", String(40), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("address", Text, nullable=True),
    Column("micro_stop_seconds", Integer, nullable=False, server_default=text("120")),
    Column("setup_is_planned", Boolean, nullable=False, server_default=text("false")),
    Column("no_data_policy", Text, nullable=False, server_default=text("'busy'")),
    _created(),
    Column("paper_size", String(6)),  # A4 or Letter; null: by time zone (0013)
)

areas = Table(
    "areas",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("code", String(40), nullable=False),
    _created(),
)

lines = Table(
    "lines",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("area_id", Uuid),
    Column("name", String(200), nullable=False),
    Column("code", String(40), nullable=False),
    _created(),
)

machines = Table(
    "machines",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("line_id", Uuid),
    Column("name", String(200), nullable=False),
    Column("code", String(40), nullable=False),
    Column("ideal_cycle_seconds", Numeric(14, 6), nullable=False),
    Column("capacity_per_hour", Numeric(14, 3)),
    Column("status", String(16), nullable=False, server_default=text("'active'")),
    Column("status_mapping", JSONB, nullable=False),
    Column("catalog_model_id", Uuid),
    _created(),
    _updated(),
)

site_operators = Table(
    "site_operators",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    _created(),
)
