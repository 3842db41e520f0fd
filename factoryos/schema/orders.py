"""Products and their routings, order operations, their runs on machines, ERP confirmations.

Manufacturing orders themselves are the `jobs` table (factoryos/schema/jobs.py).
"""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, Numeric, String, Table, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.schema.base import metadata


def _id() -> Column:
    return Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", Uuid, nullable=False)


def _ts(name: str, nullable: bool = True, default: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=func.now() if default else None)


products = Table(
    "products",
    metadata,
    _id(),
    _tenant(),
    Column("number", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("unit", String(20), nullable=False, server_default=text("'pcs'")),
    Column("status", String(12), nullable=False, server_default=text("'active'")),
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
)

routing_operations = Table(
    "routing_operations",
    metadata,
    _id(),
    _tenant(),
    Column("product_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(120), nullable=False),
    Column("setup_seconds", Numeric(14, 3), nullable=False, server_default=text("0")),
)

# One machine, or every machine of a line, that may run a routing operation, at its standard.
routing_resources = Table(
    "routing_resources",
    metadata,
    _id(),
    _tenant(),
    Column("operation_id", Uuid, nullable=False),
    Column("machine_id", Uuid),
    Column("line_id", Uuid),
    Column("cycle_seconds", Numeric(14, 6), nullable=False),
    Column("parts_per_cycle", Integer, nullable=False, server_default=text("1")),
)

order_operations = Table(
    "order_operations",
    metadata,
    _id(),
    _tenant(),
    Column("job_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(120), nullable=False),
    Column("routing_operation_id", Uuid),
    Column("quantity", Integer, nullable=False),
    Column("setup_seconds", Numeric(14, 3), nullable=False, server_default=text("0")),
    # Frozen from the routing when the order was made: [{"machine_id", "cycle_seconds", "parts_per_cycle"}].
    # Empty: any machine may run it, at the machine's own ideal cycle time.
    Column("allowed", JSONB, nullable=False, server_default=text("'[]'")),
    Column("status", String(12), nullable=False, server_default=text("'planned'")),
    Column("machine_id", Uuid),
    Column("queue_position", Integer),
    Column("final_good", Integer),
    Column("final_scrap", Integer),
    _ts("created_at", nullable=False, default=True),
    _ts("updated_at", nullable=False, default=True),
)

# A span an operation ran on a machine; it opens with the changeover (setup until `setup_ended_at`).
operation_runs = Table(
    "operation_runs",
    metadata,
    _id(),
    _tenant(),
    Column("operation_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    _ts("started_at", nullable=False),
    _ts("setup_ended_at"),
    _ts("ended_at"),
    Column("end_kind", String(12)),
    Column("cycle_seconds", Numeric(14, 6)),
    Column("parts_per_cycle", Integer, nullable=False, server_default=text("1")),
    Column("operator_id", Uuid),
    Column("ended_by", Uuid),
    _ts("created_at", nullable=False, default=True),
)

order_confirmations = Table(
    "order_confirmations",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _tenant(),
    Column("job_id", Uuid, nullable=False),
    Column("operation_id", Uuid, nullable=False),
    Column("run_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    Column("good", Integer, nullable=False),
    Column("scrap", Integer, nullable=False),
    _ts("started_at", nullable=False),
    _ts("ended_at", nullable=False),
    Column("operator_id", Uuid),
    Column("final", Boolean, nullable=False),
    _ts("created_at", nullable=False, default=True),
)
