"""Execution: products, routings, manufacturing orders, operations run on machines.

Revision ID: 0012_execution
Revises: 0011_audit_anchors

A job (the ERP's production order) is the manufacturing order: `jobs` gains a product, the
statuses planned → released → running ↔ paused → completed (or cancelled), and operations.
Stored statuses map: open → planned, released → released, done → completed.

An order's operations copy, when the order is created, the machines that may run them and
each one's standard (cycle seconds, parts per cycle) from the product's routing: editing a
routing changes future orders, never one already planned (as shift instances freeze their
pattern). `operation_runs` are the spans an operation ran on a machine (one open run per
machine); each run starts with its changeover, booked as setup until `setup_ended_at`.
Production and rejection entries name the operation they were made for. Each run that ends
(paused or completed) leaves one `order_confirmations` row: the ERP reads them by cursor.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0012_execution"
down_revision = "0011_audit_anchors"
branch_labels = None
depends_on = None

ORDER_STATUSES = ("planned", "released", "running", "paused", "completed", "cancelled")
OPERATION_STATUSES = ORDER_STATUSES
_OLD_JOB_STATUSES = ("open", "released", "done")
MAX_CYCLE = 86400


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def _fk(cols: list[str], table: str, ref: list[str], name: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, ondelete=ondelete)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    create_tenant_table(
        op,
        "products",
        _id(),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False, server_default=sa.text("'pcs'")),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'active'")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        sa.UniqueConstraint("tenant_id", "number", name="uq_products_tenant_number"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_products_tenant_id"),
        sa.CheckConstraint("length(btrim(number)) > 0", name="ck_products_number"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_products_name"),
        sa.CheckConstraint(_in("status", ("active", "obsolete")), name="ck_products_status"),
    )
    # A product's routing: its operations in order.
    create_tenant_table(
        op,
        "routing_operations",
        _id(),
        sa.Column("product_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("setup_seconds", sa.Numeric(14, 3), nullable=False, server_default=sa.text("0")),
        _fk(["tenant_id", "product_id"], "products", ["tenant_id", "id"], "fk_routing_operations_product", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "product_id", "seq", name="uq_routing_operations_seq"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_routing_operations_tenant_id"),
        sa.CheckConstraint("seq > 0", name="ck_routing_operations_seq"),
        sa.CheckConstraint("setup_seconds >= 0", name="ck_routing_operations_setup"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_routing_operations_name"),
    )
    # Who may run an operation, and at what standard: one machine, or every machine of a line.
    op.create_unique_constraint("uq_lines_tenant_id", "lines", ["tenant_id", "id"])
    create_tenant_table(
        op,
        "routing_resources",
        _id(),
        sa.Column("operation_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("line_id", sa.Uuid),
        sa.Column("cycle_seconds", sa.Numeric(14, 6), nullable=False),
        sa.Column("parts_per_cycle", sa.Integer, nullable=False, server_default=sa.text("1")),
        _fk(["tenant_id", "operation_id"], "routing_operations", ["tenant_id", "id"], "fk_routing_resources_operation",
            "CASCADE"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_routing_resources_machine", "CASCADE"),
        _fk(["tenant_id", "line_id"], "lines", ["tenant_id", "id"], "fk_routing_resources_line", "CASCADE"),
        sa.CheckConstraint("(machine_id is null) <> (line_id is null)", name="ck_routing_resources_one"),
        sa.CheckConstraint(f"cycle_seconds > 0 and cycle_seconds <= {MAX_CYCLE}", name="ck_routing_resources_cycle"),
        sa.CheckConstraint("parts_per_cycle > 0", name="ck_routing_resources_parts"),
    )
    op.create_index("ix_routing_resources_operation", "routing_resources", ["tenant_id", "operation_id"])

    # Jobs become manufacturing orders.
    op.drop_constraint("ck_jobs_status", "jobs", type_="check")
    op.execute("alter table jobs no force row level security")  # every company's rows (the owner runs this)
    op.execute("update jobs set status = case status when 'open' then 'planned' when 'done' then 'completed' "
               "else status end")
    op.execute("alter table jobs force row level security")
    op.alter_column("jobs", "status", server_default=sa.text("'planned'"))
    op.create_check_constraint("ck_jobs_status", "jobs", _in("status", ORDER_STATUSES))
    op.add_column("jobs", sa.Column("product_id", sa.Uuid))
    op.create_foreign_key("fk_jobs_product", "jobs", "products", ["tenant_id", "product_id"], ["tenant_id", "id"])
    op.add_column("jobs", _ts("updated_at", default=True, nullable=False))

    create_tenant_table(
        op,
        "order_operations",
        _id(),
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("routing_operation_id", sa.Uuid),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("setup_seconds", sa.Numeric(14, 3), nullable=False, server_default=sa.text("0")),
        # [{"machine_id", "cycle_seconds", "parts_per_cycle"}]; empty: any machine at its own cycle.
        sa.Column("allowed", JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'planned'")),
        sa.Column("machine_id", sa.Uuid),  # dispatched to (its queue), or where it runs
        sa.Column("queue_position", sa.Integer),
        sa.Column("final_good", sa.Integer),
        sa.Column("final_scrap", sa.Integer),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _fk(["tenant_id", "job_id"], "jobs", ["tenant_id", "id"], "fk_order_operations_job", "CASCADE"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_order_operations_machine"),
        sa.UniqueConstraint("tenant_id", "job_id", "seq", name="uq_order_operations_seq"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_order_operations_tenant_id"),
        sa.CheckConstraint("quantity > 0", name="ck_order_operations_quantity"),
        sa.CheckConstraint(_in("status", OPERATION_STATUSES), name="ck_order_operations_status"),
        sa.CheckConstraint("final_good is null or final_good >= 0", name="ck_order_operations_final_good"),
        sa.CheckConstraint("final_scrap is null or final_scrap >= 0", name="ck_order_operations_final_scrap"),
    )
    op.create_index("ix_order_operations_queue", "order_operations", ["tenant_id", "machine_id", "queue_position"])
    # Jobs made before orders had operations get the one an order without a routing gets.
    op.execute("alter table order_operations no force row level security")
    op.execute("alter table jobs no force row level security")
    op.execute("insert into order_operations (tenant_id, job_id, seq, name, quantity, status, machine_id) "
               "select tenant_id, id, 10, 'Production', quantity, status, machine_id from jobs")
    op.execute("alter table jobs force row level security")
    op.execute("alter table order_operations force row level security")

    create_tenant_table(
        op,
        "operation_runs",
        _id(),
        sa.Column("operation_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        _ts("started_at", nullable=False),
        _ts("setup_ended_at"),
        _ts("ended_at"),
        sa.Column("end_kind", sa.String(12)),
        sa.Column("cycle_seconds", sa.Numeric(14, 6)),  # the standard it ran at (null: the machine's own)
        sa.Column("parts_per_cycle", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("operator_id", sa.Uuid, sa.ForeignKey("users.id", name="fk_operation_runs_operator")),
        sa.Column("ended_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_operation_runs_ended_by")),
        _ts("created_at", default=True, nullable=False),
        _fk(["tenant_id", "operation_id"], "order_operations", ["tenant_id", "id"], "fk_operation_runs_operation",
            "CASCADE"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_operation_runs_machine", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_operation_runs_tenant_id"),
        sa.CheckConstraint("ended_at is null or ended_at >= started_at", name="ck_operation_runs_order"),
        sa.CheckConstraint("setup_ended_at is null or setup_ended_at >= started_at", name="ck_operation_runs_setup"),
        sa.CheckConstraint("(ended_at is null) = (end_kind is null)", name="ck_operation_runs_end"),
        sa.CheckConstraint("end_kind is null or " + _in("end_kind", ("paused", "completed", "cancelled")),
                           name="ck_operation_runs_end_kind"),
        sa.CheckConstraint(f"cycle_seconds is null or (cycle_seconds > 0 and cycle_seconds <= {MAX_CYCLE})",
                           name="ck_operation_runs_cycle"),
        sa.CheckConstraint("parts_per_cycle > 0", name="ck_operation_runs_parts"),
    )
    # One running operation per machine at a time.
    op.execute("create unique index uq_operation_runs_open on operation_runs (tenant_id, machine_id) "
               "where ended_at is null")
    op.create_index("ix_operation_runs_machine_time", "operation_runs", ["tenant_id", "machine_id", "started_at"])
    op.create_index("ix_operation_runs_operation", "operation_runs", ["tenant_id", "operation_id"])

    for table in ("production_entries", "rejection_entries"):
        op.add_column(table, sa.Column("operation_id", sa.Uuid))
        op.create_foreign_key(f"fk_{table}_operation", table, "order_operations", ["tenant_id", "operation_id"],
                              ["tenant_id", "id"])

    create_tenant_table(
        op,
        "order_confirmations",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("operation_id", sa.Uuid, nullable=False),
        sa.Column("run_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("good", sa.Integer, nullable=False),
        sa.Column("scrap", sa.Integer, nullable=False),
        _ts("started_at", nullable=False),
        _ts("ended_at", nullable=False),
        sa.Column("operator_id", sa.Uuid),
        sa.Column("final", sa.Boolean, nullable=False),
        _ts("created_at", default=True, nullable=False),
        _fk(["tenant_id", "run_id"], "operation_runs", ["tenant_id", "id"], "fk_order_confirmations_run", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "run_id", name="uq_order_confirmations_run"),
    )
    op.create_index("ix_order_confirmations_cursor", "order_confirmations", ["tenant_id", "id"])


def downgrade() -> None:
    op.drop_table("order_confirmations")
    for table in ("production_entries", "rejection_entries"):
        op.drop_constraint(f"fk_{table}_operation", table, type_="foreignkey")
        op.drop_column(table, "operation_id")
    op.drop_table("operation_runs")
    op.drop_table("order_operations")
    op.drop_column("jobs", "updated_at")
    op.drop_constraint("fk_jobs_product", "jobs", type_="foreignkey")
    op.drop_column("jobs", "product_id")
    op.drop_constraint("ck_jobs_status", "jobs", type_="check")
    op.execute("alter table jobs no force row level security")
    op.execute("update jobs set status = case when status in ('planned', 'cancelled') then 'open' "
               "when status in ('running', 'paused', 'completed') then 'done' else status end")
    op.execute("alter table jobs force row level security")
    op.alter_column("jobs", "status", server_default=sa.text("'open'"))
    op.create_check_constraint("ck_jobs_status", "jobs", _in("status", _OLD_JOB_STATUSES))
    op.drop_table("routing_resources")
    op.drop_constraint("uq_lines_tenant_id", "lines", type_="unique")
    op.drop_table("routing_operations")
    op.drop_table("products")
