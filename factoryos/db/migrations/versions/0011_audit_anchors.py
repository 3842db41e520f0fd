"""Signed audit anchors: the chain heads the server host signed, kept in the database too.

Revision ID: 0011_audit_anchors
Revises: 0010_no_data_policy

The anchor file in the data directory is the copy that counts (the database cannot be
trusted against its own superuser); this table is a second copy for reports and backups.
Append-only for every role, like the audit log. Only the superuser (the server's backup
connection, `audit verify`) writes them; the app role may read its own company's, under RLS.
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0011_audit_anchors"
down_revision = "0010_no_data_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tenant_table(
        op,
        "audit_anchors",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.CheckConstraint("seq > 0", name="ck_audit_anchors_seq"), nullable=False),
        sa.Column("row_hash", sa.CHAR(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        grants="SELECT",
    )
    op.execute("create index ix_audit_anchors_tenant_seq on audit_anchors (tenant_id, seq)")
    op.execute(
        "create trigger audit_anchors_no_update_delete before update or delete on audit_anchors "
        "for each row execute function audit_log_deny()"
    )
    op.execute(
        "create trigger audit_anchors_no_truncate before truncate on audit_anchors "
        "for each statement execute function audit_log_deny()"
    )


def downgrade() -> None:
    op.execute("drop table audit_anchors")
