"""Foundation: companies (tenants), sites, idempotency keys, with RLS.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table, enable_tenant_rls, grant_global

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    grant_global(op, "alembic_version", "SELECT")

    op.create_table(
        "companies",
        sa.Column("tenant_id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.String(200), nullable=False),
        _now(),
        sa.CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
    )
    enable_tenant_rls(op, "companies")

    create_tenant_table(
        op,
        "sites",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("micro_stop_seconds", sa.Integer, nullable=False, server_default=sa.text("120")),
        sa.Column("setup_is_planned", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _now(),
        sa.UniqueConstraint("tenant_id", "code", name="uq_sites_tenant_code"),
        # PostgreSQL raises on an unknown zone name, so this rejects anything not IANA.
        sa.CheckConstraint("timezone(timezone, timestamptz '2000-01-01') is not null", name="ck_sites_timezone"),
        sa.CheckConstraint("micro_stop_seconds between 0 and 3600", name="ck_sites_micro_stop"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("companies.tenant_id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.dialects.postgresql.JSONB),
        sa.Column("content_type", sa.Text),
        _now(),
    )
    enable_tenant_rls(op, "idempotency_keys", grants="SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("sites")
    op.drop_table("companies")
    op.execute("REVOKE ALL ON alembic_version FROM factoryos_app")
