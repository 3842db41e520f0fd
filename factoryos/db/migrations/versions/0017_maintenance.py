"""Assets, maintenance plans and work orders.

Revision ID: 0017_maintenance
Revises: 0016_quality_inspections

Every machine is an asset: its asset row is made the first time maintenance refers to it and
holds only what the machine row does not (serial, install date, documents); name, code, site
and model come from the machine and its catalog entry. Sub-assets (spindle, robot) hang under
a machine's asset; movable ones (moulds, tools) are mounted on machines for spans
(`maintenance_mountings`) and count their usage only while mounted. Usage is never stored:
run hours are read from `machine_state_intervals`, cycles from `machine_count_buckets`.

A plan is due by calendar, run hours or cycles since its anchor (when it was made, or its last
preventive work order was finished), whichever comes first. At most one open preventive work
order per plan (a partial unique index): generating one twice is a no-op.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0017_maintenance"
down_revision = "0016_quality_inspections"
branch_labels = None
depends_on = None

ASSET_KINDS = ("machine", "spindle", "mould", "tool", "robot", "other")
WO_KINDS = ("preventive", "corrective", "request")
WO_STATUSES = ("requested", "approved", "scheduled", "in_progress", "done", "cancelled")
TRIGGERS = ("calendar", "run_hours", "cycles")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.func.now() if default else None)


def _fk(cols: list[str], table: str, ref: list[str], name: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, ondelete=ondelete)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _jsonb(name: str) -> sa.Column:
    return sa.Column(name, JSONB, nullable=False, server_default=sa.text("'[]'"))


def upgrade() -> None:
    create_tenant_table(
        op,
        "maintenance_assets",
        _id(),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("machine_id", sa.Uuid),  # the machine this asset is (kind 'machine' only)
        sa.Column("parent_id", sa.Uuid),   # the asset a fixed sub-asset is part of
        sa.Column("movable", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("name", sa.String(200)),
        sa.Column("code", sa.String(40)),
        sa.Column("manufacturer", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("serial", sa.String(120)),
        sa.Column("installed_on", sa.Date),
        _jsonb("documents"),
        sa.Column("run_hours_offset", sa.Numeric(14, 3), nullable=False, server_default=sa.text("0")),
        sa.Column("cycles_offset", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'active'")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_maintenance_assets_machine", "CASCADE"),
        _fk(["tenant_id", "parent_id"], "maintenance_assets", ["tenant_id", "id"], "fk_maintenance_assets_parent"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_maintenance_assets_tenant_id"),
        sa.CheckConstraint(_in("kind", ASSET_KINDS), name="ck_maintenance_assets_kind"),
        sa.CheckConstraint(_in("status", ("active", "retired")), name="ck_maintenance_assets_status"),
        sa.CheckConstraint("(kind = 'machine') = (machine_id is not null)", name="ck_maintenance_assets_machine"),
        sa.CheckConstraint("kind <> 'machine' or (parent_id is null and not movable and name is null)",
                           name="ck_maintenance_assets_machine_own"),
        sa.CheckConstraint("kind = 'machine' or length(btrim(coalesce(name, ''))) > 0",
                           name="ck_maintenance_assets_name"),
        sa.CheckConstraint("not (movable and parent_id is not null)", name="ck_maintenance_assets_movable"),
        sa.CheckConstraint("run_hours_offset >= 0 and cycles_offset >= 0", name="ck_maintenance_assets_offsets"),
    )
    op.create_index("uq_maintenance_assets_machine", "maintenance_assets", ["tenant_id", "machine_id"],
                    unique=True, postgresql_where=sa.text("machine_id is not null"))
    op.create_index("uq_maintenance_assets_code", "maintenance_assets", ["tenant_id", "code"],
                    unique=True, postgresql_where=sa.text("code is not null"))

    create_tenant_table(
        op,
        "maintenance_mountings",
        _id(),
        sa.Column("asset_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        _ts("mounted_at", nullable=False),
        _ts("unmounted_at"),
        sa.Column("created_by", sa.Uuid),
        _fk(["tenant_id", "asset_id"], "maintenance_assets", ["tenant_id", "id"], "fk_maintenance_mountings_asset",
            "CASCADE"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_maintenance_mountings_machine",
            "CASCADE"),
        sa.CheckConstraint("unmounted_at is null or unmounted_at > mounted_at", name="ck_maintenance_mountings_span"),
    )
    op.create_index("uq_maintenance_mountings_open", "maintenance_mountings", ["tenant_id", "asset_id"],
                    unique=True, postgresql_where=sa.text("unmounted_at is null"))
    op.create_index("ix_maintenance_mountings_asset", "maintenance_mountings", ["tenant_id", "asset_id", "mounted_at"])

    create_tenant_table(
        op,
        "maintenance_plans",
        _id(),
        sa.Column("asset_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("every_days", sa.Integer),
        sa.Column("every_weeks", sa.Integer),
        sa.Column("weekday", sa.SmallInteger),  # ISO: 1 Monday … 7 Sunday, with every_weeks
        sa.Column("every_run_hours", sa.Numeric(14, 3)),
        sa.Column("every_cycles", sa.BigInteger),
        # An absolute first due point on the asset's own counters (then every_… from its completion).
        sa.Column("next_due_run_hours", sa.Numeric(14, 3)),
        sa.Column("next_due_cycles", sa.BigInteger),
        sa.Column("lead_days", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("lead_run_hours", sa.Numeric(14, 3), nullable=False, server_default=sa.text("0")),
        sa.Column("lead_cycles", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        _jsonb("checklist"),
        sa.Column("estimated_minutes", sa.Integer, nullable=False, server_default=sa.text("60")),
        sa.Column("needs_stop", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("requires_signature", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        _ts("anchor_at", nullable=False, default=True),
        sa.Column("created_by", sa.Uuid),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _fk(["tenant_id", "asset_id"], "maintenance_assets", ["tenant_id", "id"], "fk_maintenance_plans_asset",
            "CASCADE"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_maintenance_plans_tenant_id"),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_maintenance_plans_name"),
        sa.CheckConstraint("coalesce(every_days, 1) > 0 and coalesce(every_weeks, 1) > 0 "
                           "and coalesce(every_run_hours, 1) > 0 and coalesce(every_cycles, 1) > 0",
                           name="ck_maintenance_plans_positive"),
        sa.CheckConstraint("every_days is null or every_weeks is null", name="ck_maintenance_plans_calendar"),
        sa.CheckConstraint("weekday is null or (every_weeks is not null and weekday between 1 and 7)",
                           name="ck_maintenance_plans_weekday"),
        sa.CheckConstraint("coalesce(every_days, every_weeks, every_run_hours, every_cycles) is not null",
                           name="ck_maintenance_plans_trigger"),
        sa.CheckConstraint("lead_days >= 0 and lead_run_hours >= 0 and lead_cycles >= 0",
                           name="ck_maintenance_plans_lead"),
        sa.CheckConstraint("estimated_minutes > 0", name="ck_maintenance_plans_estimate"),
    )
    op.create_index("ix_maintenance_plans_asset", "maintenance_plans", ["tenant_id", "asset_id"])

    create_tenant_table(
        op,
        "maintenance_work_orders",
        _id(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("asset_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid),  # where the work happens (a mould: the machine it is on)
        sa.Column("plan_id", sa.Uuid),
        sa.Column("downtime_id", sa.Uuid),         # the stop a corrective order was raised from
        sa.Column("booked_downtime_id", sa.Uuid),  # the maintenance downtime its work opened
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("trigger", sa.String(12)),  # what made a preventive order due
        _ts("due_at"),
        sa.Column("assignee_id", sa.Uuid),
        sa.Column("requested_by", sa.Uuid),
        sa.Column("approved_by", sa.Uuid),
        _ts("scheduled_for"),
        _ts("started_at"),
        _ts("finished_at"),
        _jsonb("checklist"),
        _jsonb("parts"),
        sa.Column("labour_minutes", sa.Integer),
        sa.Column("notes", sa.Text),
        sa.Column("on_time", sa.Boolean),
        sa.Column("closed_by", sa.Uuid),
        sa.Column("signature_id", sa.Uuid),
        sa.Column("requires_signature", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts("created_at", default=True, nullable=False),
        _ts("updated_at", default=True, nullable=False),
        _fk(["tenant_id", "asset_id"], "maintenance_assets", ["tenant_id", "id"], "fk_maintenance_wo_asset"),
        _fk(["tenant_id", "plan_id"], "maintenance_plans", ["tenant_id", "id"], "fk_maintenance_wo_plan", "SET NULL"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_maintenance_wo_machine"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_maintenance_wo_number"),
        sa.CheckConstraint(_in("kind", WO_KINDS), name="ck_maintenance_wo_kind"),
        sa.CheckConstraint(_in("status", WO_STATUSES), name="ck_maintenance_wo_status"),
        sa.CheckConstraint(f"trigger is null or {_in('trigger', TRIGGERS)}", name="ck_maintenance_wo_trigger"),
        sa.CheckConstraint("length(btrim(title)) > 0", name="ck_maintenance_wo_title"),
        sa.CheckConstraint("labour_minutes is null or labour_minutes >= 0", name="ck_maintenance_wo_labour"),
        sa.CheckConstraint("kind = 'preventive' or plan_id is null", name="ck_maintenance_wo_plan"),
    )
    op.create_index("uq_maintenance_wo_open_plan", "maintenance_work_orders", ["tenant_id", "plan_id"], unique=True,
                    postgresql_where=sa.text("plan_id is not null and status not in ('done', 'cancelled')"))
    op.create_index("ix_maintenance_wo_asset", "maintenance_work_orders", ["tenant_id", "asset_id", "created_at"])
    op.create_index("ix_maintenance_wo_status", "maintenance_work_orders", ["tenant_id", "status"])


def downgrade() -> None:
    for table in ("maintenance_work_orders", "maintenance_plans", "maintenance_mountings", "maintenance_assets"):
        op.drop_table(table)
