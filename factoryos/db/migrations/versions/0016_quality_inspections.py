"""Inspection plans, inspections and their measurements.

Revision ID: 0016_quality_inspections
Revises: 0015_signatures_nc

A plan (per product, optionally one routing operation of it, or per machine) has versions:
draft → released → superseded. Only a draft changes; a released version is frozen (its
content is what its release signature signed), and a change makes the next version. A
characteristic keeps its `lineage_id` from version to version, so its SPC chart runs on
across versions. An inspection records one result per characteristic of the version it
was made under: the measured values (a subgroup of the characteristic's sample size) or
pass/fail with a defect.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0016_quality_inspections"
down_revision = "0015_signatures_nc"
branch_labels = None
depends_on = None

VERSION_STATUSES = ("draft", "released", "superseded")
KINDS = ("measured", "attribute")
TRIGGERS = ("first_article", "parts", "time", "shift", "manual")
MAX_SAMPLE = 10  # the SPC constants' table covers subgroups of 2…10 (1: individuals)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _fk(cols: list[str], table: str, ref: list[str], name: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, ondelete=ondelete)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _num(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(18, 6))


def upgrade() -> None:
    create_tenant_table(
        op,
        "inspection_plans",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_id", sa.Uuid),
        sa.Column("routing_operation_id", sa.Uuid),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_inspection_plans_created_by")),
        _ts("created_at", default=True, nullable=False),
        _fk(["tenant_id", "product_id"], "products", ["tenant_id", "id"], "fk_inspection_plans_product"),
        _fk(["tenant_id", "routing_operation_id"], "routing_operations", ["tenant_id", "id"],
            "fk_inspection_plans_operation", "SET NULL"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_inspection_plans_machine"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspection_plans_tenant_id"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_inspection_plans_name"),
        sa.CheckConstraint("product_id is not null or machine_id is not null", name="ck_inspection_plans_scope"),
        sa.CheckConstraint("routing_operation_id is null or product_id is not null",
                           name="ck_inspection_plans_operation"),
    )
    op.create_index("ix_inspection_plans_product", "inspection_plans", ["tenant_id", "product_id"])
    op.create_index("ix_inspection_plans_machine", "inspection_plans", ["tenant_id", "machine_id"])

    create_tenant_table(
        op,
        "inspection_plan_versions",
        _id(),
        sa.Column("plan_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'draft'")),
        # The sampling rule: any of these that is set makes an inspection due.
        sa.Column("first_article", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("every_parts", sa.Integer),
        sa.Column("every_minutes", sa.Integer),
        sa.Column("per_shift", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("grace_minutes", sa.Integer, nullable=False, server_default=sa.text("15")),
        # The release is signed by someone other than the draft's author.
        sa.Column("second_person", sa.Boolean, nullable=False, server_default=sa.text("false")),
        # Roles that may record (empty: anyone holding quality.inspect).
        sa.Column("record_roles", JSONB, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("notes", sa.Text),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_inspection_plan_versions_created_by")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _ts("released_at"),
        sa.Column("released_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_inspection_plan_versions_released_by")),
        sa.Column("signature_id", sa.Uuid),
        sa.Column("content_hash", sa.String(64)),
        _ts("superseded_at"),
        _fk(["tenant_id", "plan_id"], "inspection_plans", ["tenant_id", "id"], "fk_inspection_plan_versions_plan",
            "CASCADE"),
        sa.UniqueConstraint("tenant_id", "plan_id", "version", name="uq_inspection_plan_versions_version"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspection_plan_versions_tenant_id"),
        sa.CheckConstraint("version > 0", name="ck_inspection_plan_versions_version"),
        sa.CheckConstraint(_in("status", VERSION_STATUSES), name="ck_inspection_plan_versions_status"),
        sa.CheckConstraint("(status = 'draft') = (released_at is null)", name="ck_inspection_plan_versions_released"),
        sa.CheckConstraint("every_parts is null or every_parts > 0", name="ck_inspection_plan_versions_parts"),
        sa.CheckConstraint("every_minutes is null or every_minutes > 0", name="ck_inspection_plan_versions_minutes"),
        sa.CheckConstraint("grace_minutes >= 0", name="ck_inspection_plan_versions_grace"),
    )
    # One draft and one released version per plan at a time.
    op.execute("create unique index uq_inspection_plan_versions_draft on inspection_plan_versions "
               "(tenant_id, plan_id) where status = 'draft'")
    op.execute("create unique index uq_inspection_plan_versions_released on inspection_plan_versions "
               "(tenant_id, plan_id) where status = 'released'")

    create_tenant_table(
        op,
        "inspection_characteristics",
        _id(),
        sa.Column("version_id", sa.Uuid, nullable=False),
        sa.Column("lineage_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        _num("nominal"),
        _num("lsl"),
        _num("usl"),
        sa.Column("unit", sa.String(20)),
        sa.Column("decimals", sa.Integer, nullable=False, server_default=sa.text("2")),
        _num("min_value"),  # physical limits: a value outside is a typing or gauge error, refused
        _num("max_value"),
        sa.Column("sample_size", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("defects", JSONB, nullable=False, server_default=sa.text("'[]'")),
        _fk(["tenant_id", "version_id"], "inspection_plan_versions", ["tenant_id", "id"],
            "fk_inspection_characteristics_version", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "version_id", "seq", name="uq_inspection_characteristics_seq"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspection_characteristics_tenant_id"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_inspection_characteristics_kind"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_inspection_characteristics_name"),
        sa.CheckConstraint("kind = 'attribute' or lsl is not null or usl is not null",
                           name="ck_inspection_characteristics_limits"),
        sa.CheckConstraint("lsl is null or usl is null or lsl < usl", name="ck_inspection_characteristics_order"),
        sa.CheckConstraint("min_value is null or max_value is null or min_value < max_value",
                           name="ck_inspection_characteristics_physical"),
        sa.CheckConstraint("decimals between 0 and 6", name="ck_inspection_characteristics_decimals"),
        sa.CheckConstraint(f"sample_size between 1 and {MAX_SAMPLE}", name="ck_inspection_characteristics_sample"),
    )
    op.create_index("ix_inspection_characteristics_lineage", "inspection_characteristics", ["tenant_id", "lineage_id"])

    create_tenant_table(
        op,
        "inspections",
        _id(),
        sa.Column("plan_id", sa.Uuid, nullable=False),
        sa.Column("version_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("product_id", sa.Uuid),
        sa.Column("job_id", sa.Uuid),
        sa.Column("operation_id", sa.Uuid),
        sa.Column("trigger", sa.String(16), nullable=False),
        _ts("recorded_at", default=True, nullable=False),
        sa.Column("recorded_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_inspections_recorded_by")),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("out_of_spec", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("notes", sa.Text),
        _fk(["tenant_id", "plan_id"], "inspection_plans", ["tenant_id", "id"], "fk_inspections_plan"),
        _fk(["tenant_id", "version_id"], "inspection_plan_versions", ["tenant_id", "id"], "fk_inspections_version"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_inspections_machine"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspections_tenant_id"),
        sa.CheckConstraint(_in("trigger", TRIGGERS), name="ck_inspections_trigger"),
        sa.CheckConstraint(_in("result", ("pass", "fail")), name="ck_inspections_result"),
        sa.CheckConstraint("out_of_spec >= 0", name="ck_inspections_out_of_spec"),
    )
    op.create_index("ix_inspections_machine_time", "inspections", ["tenant_id", "machine_id", "recorded_at"])
    op.create_index("ix_inspections_plan_time", "inspections", ["tenant_id", "plan_id", "recorded_at"])
    op.create_index("ix_inspections_product_time", "inspections", ["tenant_id", "product_id", "recorded_at"])

    create_tenant_table(
        op,
        "inspection_results",
        _id(),
        sa.Column("inspection_id", sa.Uuid, nullable=False),
        sa.Column("characteristic_id", sa.Uuid, nullable=False),
        sa.Column("lineage_id", sa.Uuid, nullable=False),
        sa.Column("values", ARRAY(sa.Numeric(18, 6))),
        sa.Column("passed", sa.Boolean),
        sa.Column("defect", sa.String(200)),
        sa.Column("out_of_spec", sa.Boolean, nullable=False),
        _fk(["tenant_id", "inspection_id"], "inspections", ["tenant_id", "id"], "fk_inspection_results_inspection",
            "CASCADE"),
        _fk(["tenant_id", "characteristic_id"], "inspection_characteristics", ["tenant_id", "id"],
            "fk_inspection_results_characteristic"),
        sa.UniqueConstraint("tenant_id", "inspection_id", "characteristic_id", name="uq_inspection_results_one"),
        sa.CheckConstraint("(values is null) <> (passed is null)", name="ck_inspection_results_kind"),
        sa.CheckConstraint("values is null or cardinality(values) between 1 and 10", name="ck_inspection_results_n"),
    )
    op.create_index("ix_inspection_results_lineage", "inspection_results", ["tenant_id", "lineage_id"])


def downgrade() -> None:
    op.drop_table("inspection_results")
    op.drop_table("inspections")
    op.drop_table("inspection_characteristics")
    op.drop_table("inspection_plan_versions")
    op.drop_table("inspection_plans")
