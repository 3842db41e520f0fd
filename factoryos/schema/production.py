"""Shifts, plans, production and rejection entries, downtime, reasons and machine signals."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant(primary_key: bool = False) -> Column:
    return Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False, primary_key=primary_key)


def _ts(name: str, nullable: bool = False, default: bool = False) -> Column:
    kw = {"server_default": func.now()} if default else {}
    return Column(name, DateTime(timezone=True), nullable=nullable, **kw)


shift_patterns = Table(
    "shift_patterns",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("name", String(80), nullable=False),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
    Column("breaks", JSONB, nullable=False),
    Column("weekdays", ARRAY(SmallInteger), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _ts("created_at", default=True),
    _ts("updated_at", default=True),
)

# An instance is stored the first time something refers to it, freezing its UTC window:
# later edits to the pattern change future shifts, never recorded ones.
shift_instances = Table(
    "shift_instances",
    metadata,
    _id(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("pattern_id", Uuid, nullable=False),
    Column("name", String(80), nullable=False),
    Column("local_date", Date, nullable=False),
    _ts("starts_at"),
    _ts("ends_at"),
    Column("breaks", JSONB, nullable=False),
    _ts("created_at", default=True),
)

loss_reasons = Table(
    "loss_reasons",
    metadata,
    _id(),
    _tenant(),
    Column("parent_id", Uuid),
    Column("level", String(12), nullable=False),
    Column("code", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("loss_bucket", String(16), nullable=False),
    Column("planned", Boolean, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _ts("created_at", default=True),
)

production_plans = Table(
    "production_plans",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    Column("shift_instance_id", Uuid, nullable=False),
    Column("target_quantity", Integer, nullable=False),
    Column("job_ref", String(120)),
    Column("product_ref", String(120)),
    Column("material_id", Uuid),
    Column("operator_ids", ARRAY(Uuid), nullable=False, server_default=text("'{}'")),
    Column("created_by", Uuid),
    _ts("created_at", default=True),
    _ts("updated_at", default=True),
)

production_entries = Table(
    "production_entries",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    Column("shift_instance_id", Uuid, nullable=False),
    Column("operator_id", Uuid, nullable=False),
    Column("good_quantity", Integer, nullable=False),
    Column("rework_quantity", Integer, nullable=False, server_default=text("0")),
    _ts("started_at"),
    _ts("ended_at"),
    Column("job_ref", String(120)),
    Column("note", Text),
    Column("created_by", Uuid),
    _ts("created_at", default=True),
    Column("operation_id", Uuid),
)

rejection_entries = Table(
    "rejection_entries",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    Column("shift_instance_id", Uuid, nullable=False),
    Column("operator_id", Uuid, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason_id", Uuid, nullable=False),
    _ts("occurred_at"),
    Column("note", Text),
    Column("created_by", Uuid),
    _ts("created_at", default=True),
    Column("operation_id", Uuid),
)

machine_state_intervals = Table(
    "machine_state_intervals",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    Column("state", String(16), nullable=False),
    Column("raw_code", BigInteger),
    _ts("started_at"),
    _ts("ended_at", nullable=True),
    # Later reports of the same state and code inside the interval: a late change splits at them.
    Column("seen_at", ARRAY(DateTime(timezone=True)), nullable=False, server_default=text("'{}'")),
)

machine_count_buckets = Table(
    "machine_count_buckets",
    metadata,
    _tenant(primary_key=True),
    Column("machine_id", Uuid, primary_key=True),
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("good", Integer, nullable=False),
    Column("reject", Integer, nullable=False),
    Column("delta_keys", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    _ts("updated_at", default=True),
)

downtime_events = Table(
    "downtime_events",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    _ts("started_at"),
    _ts("ended_at", nullable=True),
    Column("planned", Boolean, nullable=False),
    Column("reason_id", Uuid),
    Column("source", String(8), nullable=False),
    Column("needs_reason", Boolean, nullable=False),
    Column("state_interval_id", Uuid),
    Column("note", Text),
    Column("created_by", Uuid),
    _ts("created_at", default=True),
    _ts("updated_at", default=True),
)

# The last raw value of each counter folded into stored counts, written in the same
# transaction as those counts: the poller resumes from it after a restart.
machine_counter_state = Table(
    "machine_counter_state",
    metadata,
    _tenant(primary_key=True),
    Column("machine_id", Uuid, primary_key=True),
    Column("signal", Text, primary_key=True),
    Column("raw", BigInteger, nullable=False),
    _ts("read_at"),
    _ts("updated_at", nullable=True, default=True),
)

# A jump larger than the machine could make: not production until a supervisor accepts it.
counter_anomalies = Table(
    "counter_anomalies",
    metadata,
    _id(),
    _tenant(),
    Column("machine_id", Uuid, nullable=False),
    Column("signal", Text, nullable=False),
    Column("previous_raw", BigInteger),
    Column("raw", BigInteger, nullable=False),
    _ts("previous_at", nullable=True),
    _ts("detected_at"),
    Column("delta", BigInteger, nullable=False),
    Column("allowed", BigInteger),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("decided_by", Uuid),
    _ts("decided_at", nullable=True),
    Column("key", Text, nullable=False),
    _ts("created_at", nullable=True, default=True),
)
