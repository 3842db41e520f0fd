"""Inspection plans and their versions, characteristics, inspections and their results (0016)."""

from sqlalchemy import Boolean, Column, DateTime, Integer, Numeric, String, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", Uuid, nullable=False)


def _ts(name: str, nullable: bool = True, default: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=func.now() if default else None)


def _num(name: str) -> Column:
    return Column(name, Numeric(18, 6))


# Per product (optionally one routing operation of it), or per machine when no product runs.
inspection_plans = Table(
    "inspection_plans",
    metadata,
    _id(),
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("product_id", Uuid),
    Column("routing_operation_id", Uuid),
    Column("machine_id", Uuid),
    Column("created_by", Uuid),
    _ts("created_at", nullable=False, default=True),
)

# draft → released (frozen) → superseded; the sampling rule lives on the version.
inspection_plan_versions = Table(
    "inspection_plan_versions",
    metadata,
    _id(),
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
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
    _ts("released_at"),
    Column("released_by", Uuid),
    Column("signature_id", Uuid),
    Column("content_hash", String(64)),
    _ts("superseded_at"),
)

inspection_characteristics = Table(
    "inspection_characteristics",
    metadata,
    _id(),
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
    _id(),
    _tenant(),
    Column("plan_id", Uuid, nullable=False),
    Column("version_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    Column("product_id", Uuid),
    Column("job_id", Uuid),
    Column("operation_id", Uuid),
    Column("trigger", String(16), nullable=False),
    _ts("recorded_at", nullable=False, default=True),
    Column("recorded_by", Uuid),
    Column("result", String(8), nullable=False),
    Column("out_of_spec", Integer, nullable=False, server_default=text("0")),
    Column("notes", Text),
)

inspection_results = Table(
    "inspection_results",
    metadata,
    _id(),
    _tenant(),
    Column("inspection_id", Uuid, nullable=False),
    Column("characteristic_id", Uuid, nullable=False),
    Column("lineage_id", Uuid, nullable=False),
    Column("values", ARRAY(Numeric(18, 6))),
    Column("passed", Boolean),
    Column("defect", String(200)),
    Column("out_of_spec", Boolean, nullable=False),
)
