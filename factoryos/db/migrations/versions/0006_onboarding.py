"""Onboarding: jobs (production orders imported from the ERP) and each company's wizard state.

Revision ID: 0006_onboarding
Revises: 0005_connectivity

Jobs point at sites and machines through composite foreign keys on (tenant_id, id), so an
import can never attach a job to another company's machine, even by a guessed id.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0006_onboarding"
down_revision = "0005_connectivity"
branch_labels = None
depends_on = None

JOB_STATUSES = ("open", "released", "done")
STEPS = ("connect_erp", "import_jobs", "configure_machines", "setup_roles", "invite_team", "complete")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    create_tenant_table(
        op,
        "jobs",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("job_number", sa.String(60), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("customer", sa.String(200)),
        sa.Column("site_id", sa.Uuid),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'open'")),
        sa.Column("notes", sa.Text),
        sa.Column("import_id", sa.Uuid),
        sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_jobs_created_by")),
        _ts("created_at", default=True, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "site_id"], ["sites.tenant_id", "sites.id"], name="fk_jobs_site"),
        sa.ForeignKeyConstraint(["tenant_id", "machine_id"], ["machines.tenant_id", "machines.id"],
                                name="fk_jobs_machine"),
        sa.UniqueConstraint("tenant_id", "job_number", name="uq_jobs_tenant_job_number"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_jobs_tenant_id"),
        sa.CheckConstraint("quantity > 0", name="ck_jobs_quantity"),
        sa.CheckConstraint("length(btrim(job_number)) > 0", name="ck_jobs_job_number"),
        sa.CheckConstraint("length(btrim(product)) > 0", name="ck_jobs_product"),
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="ck_jobs_status"),
    )
    op.create_index("ix_jobs_created", "jobs", ["tenant_id", "created_at", "id"])
    op.create_index("ix_jobs_due", "jobs", ["tenant_id", "due_date"])

    create_tenant_table(
        op,
        "onboarding_state",
        sa.Column("current_step", sa.String(32), nullable=False, server_default=sa.text("'connect_erp'")),
        # {step: {"status": "done"|"skipped", "data": {...}, "at": iso instant, "by": user id}}
        sa.Column("steps", JSONB, nullable=False, server_default=sa.text("'{}'")),
        _ts("completed_at"),
        sa.Column("updated_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_onboarding_state_updated_by")),
        _ts("updated_at", default=True, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_onboarding_state"),
        sa.CheckConstraint(_in("current_step", STEPS), name="ck_onboarding_state_step"),
        sa.CheckConstraint("jsonb_typeof(steps) = 'object'", name="ck_onboarding_state_steps"),
        grants="SELECT, INSERT, UPDATE",
    )


def downgrade() -> None:
    op.drop_table("onboarding_state")
    op.drop_table("jobs")
