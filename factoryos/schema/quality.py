"""Inspection plans and their versions, characteristics, inspections and their results (0016)."""

from sqlalchemy import Boolean, Column, Integer, Numeric, String, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant() -> Column:
    return Column("tenant_id", Uuid, nullable=False)


def _num(name: str) -> Column:
    return Column(name, Numeric(18, 6))


# Per product (optionally one routing operation of it), or per machine when no product runs.
inspection_plans = Table(
    "inspection_plans",
    metadata,
    id_column(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("product_id", Uuid),
    Column("routing_operation_id", Uuid),
    Column("machine_id", Uuid),
    Column("created_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
)

# draft → released (frozen) → superseded; the sampling rule lives on the version.
inspection_plan_versions = Table(
    "inspection_plan_versions",
    metadata,
    id_column(),
    _tenant(),
    Column("plan_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(12), nullable=False, server_default=text("'draft'")),
    Column("first_article", Boolean, nullable=False, server_default=text("false")),
    Column("every_parts", Integer),
    Column("every_minutes", Integer),
    Column("per_shift", Boolean, nullable=False, server_default=text("false")),
    Column("grace_minutes", Integer, nullable=False, server_default=text("15")),
    Column("second_person", Boolean, nullable=False, server_default=text("false")),
    Column("record_roles", JSONB, nullable=False, server_default=text("'[]'")),
    Column("notes", Text),
    Column("created_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
    timestamp("updated_at", nullable=False, default=True),
    timestamp("released_at"),
    Column("released_by", Uuid),
    Column("signature_id", Uuid),
    Column("content_hash", String(64)),
    timestamp("superseded_at"),
)

inspection_characteristics = Table(
    "inspection_characteristics",
    metadata,
    id_column(),
    _tenant(),
    Column("version_id", Uuid, nullable=False),
    Column("lineage_id", Uuid, nullable=False),  # the same characteristic across versions (its SPC chart)
    Column("seq", Integer, nullable=False),
    Column("name", String(120), nullable=False),
    Column("kind", String(12), nullable=False),
    _num("nominal"),
    _num("lsl"),
    _num("usl"),
    Column("unit", String(20)),
    Column("decimals", Integer, nullable=False, server_default=text("2")),
    _num("min_value"),
    _num("max_value"),
    Column("sample_size", Integer, nullable=False, server_default=text("1")),
    Column("defects", JSONB, nullable=False, server_default=text("'[]'")),
)

inspections = Table(
    "inspections",
    metadata,
    id_column(),
    _tenant(),
    Column("plan_id", Uuid, nullable=False),
    Column("version_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    Column("product_id", Uuid),
    Column("job_id", Uuid),
    Column("operation_id", Uuid),
    Column("trigger", String(16), nullable=False),
    timestamp("recorded_at", nullable=False, default=True),
    Column("recorded_by", Uuid),
    Column("result", String(8), nullable=False),
    Column("out_of_spec", Integer, nullable=False, server_default=text("0")),
    Column("notes", Text),
)

inspection_results = Table(
    "inspection_results",
    metadata,
    id_column(),
    _tenant(),
    Column("inspection_id", Uuid, nullable=False),
    Column("characteristic_id", Uuid, nullable=False),
    Column("lineage_id", Uuid, nullable=False),
    Column("values", ARRAY(Numeric(18, 6))),
    Column("passed", Boolean),
    Column("defect", String(200)),
    Column("out_of_spec", Boolean, nullable=False),
)
