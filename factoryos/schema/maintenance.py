"""Assets, their mountings, maintenance plans and work orders (migration 0017_maintenance)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant() -> Column:
    return Column("tenant_id", Uuid, nullable=False)


def _list(name: str) -> Column:
    return Column(name, JSONB, nullable=False, server_default=text("'[]'"))


maintenance_assets = Table(
    "maintenance_assets",
    metadata,
    id_column(),
    _tenant(),
    Column("kind", String(12), nullable=False),
    Column("machine_id", Uuid),
    Column("parent_id", Uuid),
    Column("movable", Boolean, nullable=False, server_default=text("false")),
    Column("name", String(200)),
    Column("code", String(40)),
    Column("manufacturer", String(200)),
    Column("model", String(200)),
    Column("serial", String(120)),
    Column("installed_on", Date),
    _list("documents"),
    Column("run_hours_offset", Numeric(14, 3), nullable=False, server_default=text("0")),
    Column("cycles_offset", BigInteger, nullable=False, server_default=text("0")),
    Column("status", String(12), nullable=False, server_default=text("'active'")),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

maintenance_mountings = Table(
    "maintenance_mountings",
    metadata,
    id_column(),
    _tenant(),
    Column("asset_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    timestamp("mounted_at", nullable=False),
    timestamp("unmounted_at"),
    Column("created_by", Uuid),
)

maintenance_plans = Table(
    "maintenance_plans",
    metadata,
    id_column(),
    _tenant(),
    Column("asset_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("every_days", Integer),
    Column("every_weeks", Integer),
    Column("weekday", SmallInteger),
    Column("every_run_hours", Numeric(14, 3)),
    Column("every_cycles", BigInteger),
    Column("next_due_run_hours", Numeric(14, 3)),
    Column("next_due_cycles", BigInteger),
    Column("lead_days", Integer, nullable=False, server_default=text("0")),
    Column("lead_run_hours", Numeric(14, 3), nullable=False, server_default=text("0")),
    Column("lead_cycles", BigInteger, nullable=False, server_default=text("0")),
    _list("checklist"),
    Column("estimated_minutes", Integer, nullable=False, server_default=text("60")),
    Column("needs_stop", Boolean, nullable=False, server_default=text("true")),
    Column("requires_signature", Boolean, nullable=False, server_default=text("false")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    timestamp("anchor_at", nullable=False, default=True),
    Column("created_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)

maintenance_work_orders = Table(
    "maintenance_work_orders",
    metadata,
    id_column(),
    _tenant(),
    Column("number", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("status", String(12), nullable=False),
    Column("asset_id", Uuid, nullable=False),
    Column("machine_id", Uuid),
    Column("plan_id", Uuid),
    Column("downtime_id", Uuid),
    Column("booked_downtime_id", Uuid),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    Column("trigger", String(12)),
    timestamp("due_at"),
    Column("assignee_id", Uuid),
    Column("requested_by", Uuid),
    Column("approved_by", Uuid),
    timestamp("scheduled_for"),
    timestamp("started_at"),
    timestamp("finished_at"),
    _list("checklist"),
    _list("parts"),
    Column("labour_minutes", Integer),
    Column("notes", Text),
    Column("on_time", Boolean),
    Column("closed_by", Uuid),
    Column("signature_id", Uuid),
    Column("requires_signature", Boolean, nullable=False, server_default=text("false")),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
)
