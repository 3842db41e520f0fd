"""Shift handover notes, supervisors' sign-offs of a shift report, and the sites' paper size.

Revision ID: 0013_shift_handover
Revises: 0012_execution

A handover note is free text the outgoing shift leaves for the next one (several per shift).
A sign-off is an electronic signature of one shift's report: who, when, the meaning ("reviewed",
"approved") and the SHA-256 of the report's figures as signed, so a later change to those figures
shows as "changed since signed". Both are append-only for the app role (INSERT and SELECT only):
a note is corrected by a later note, a signature is never edited.

`sites.paper_size` is A4 or Letter; null means "by the site's time zone" (Letter in the US).
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0013_shift_handover"
down_revision = "0012_execution"
branch_labels = None
depends_on = None

NOTE_MAX = 4000
MEANINGS = ("reviewed", "approved")


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _shift_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", "shift_instance_id"], ["shift_instances.tenant_id", "shift_instances.id"],
                                   name=f"fk_{table}_shift")


def upgrade() -> None:
    op.add_column("sites", sa.Column("paper_size", sa.String(6)))
    op.create_check_constraint("ck_sites_paper_size", "sites", "paper_size in ('A4', 'Letter')")
    create_tenant_table(
        op,
        "shift_handover_notes",
        _id(),
        sa.Column("shift_instance_id", sa.Uuid, nullable=False),
        sa.Column("author_id", sa.Uuid, sa.ForeignKey("users.id", name="fk_shift_handover_notes_author"),
                  nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _shift_fk("shift_handover_notes"),
        sa.CheckConstraint(f"length(btrim(body)) between 1 and {NOTE_MAX}", name="ck_shift_handover_notes_body"),
        grants="SELECT, INSERT",
    )
    op.create_index("ix_shift_handover_notes_shift", "shift_handover_notes",
                    ["tenant_id", "shift_instance_id", "created_at"])
    create_tenant_table(
        op,
        "shift_signoffs",
        _id(),
        sa.Column("shift_instance_id", sa.Uuid, nullable=False),
        sa.Column("signer_id", sa.Uuid, sa.ForeignKey("users.id", name="fk_shift_signoffs_signer"), nullable=False),
        sa.Column("signer_name", sa.String(200), nullable=False),  # as printed at signing
        sa.Column("meaning", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _shift_fk("shift_signoffs"),
        sa.CheckConstraint("meaning in (" + ", ".join(repr(m) for m in MEANINGS) + ")", name="ck_shift_signoffs_meaning"),
        sa.CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="ck_shift_signoffs_hash"),
        grants="SELECT, INSERT",
    )
    op.create_index("ix_shift_signoffs_shift", "shift_signoffs", ["tenant_id", "shift_instance_id", "signed_at"])


def downgrade() -> None:
    op.drop_table("shift_signoffs")
    op.drop_table("shift_handover_notes")
    op.drop_constraint("ck_sites_paper_size", "sites", type_="check")
    op.drop_column("sites", "paper_size")
