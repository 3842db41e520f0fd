"""Counter continuity and counter anomalies.

Revision ID: 0009_counter_continuity
Revises: 0008_installation_admin

The poller kept each counter's last raw value in memory only, so the first reading after a
restart was a new baseline and the parts made meanwhile were lost. `machine_counter_state`
keeps, per machine and signal, the last raw value folded into stored counts and when it was
read; it is written in the same transaction as those counts, so the stored total and the
baseline always agree.

A jump larger than the machine could make in the elapsed time is not production: it is kept
in `counter_anomalies` until a supervisor accepts it (its parts are then stored in the count
buckets under the delta key `anomaly|<id>`) or discards it. `key` makes replay from the
poller's spool idempotent.
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table

revision = "0009_counter_continuity"
down_revision = "0008_installation_admin"
branch_labels = None
depends_on = None

SIGNALS = "signal in ('good', 'reject')"


def _ts(name: str, *, default: bool = False, nullable: bool = True) -> sa.Column:
    kw = {"server_default": sa.func.now()} if default else {}
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def _machine_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "machine_id"], ["machines.tenant_id", "machines.id"],
        name=f"fk_{table}_machine", ondelete="CASCADE",
    )


def upgrade() -> None:
    create_tenant_table(
        op,
        "machine_counter_state",
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("signal", sa.Text, nullable=False),
        sa.Column("raw", sa.BigInteger, nullable=False),
        _ts("read_at", nullable=False),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "machine_id", "signal", name="pk_machine_counter_state"),
        _machine_fk("machine_counter_state"),
        sa.CheckConstraint(SIGNALS, name="ck_machine_counter_state_signal"),
    )
    create_tenant_table(
        op,
        "counter_anomalies",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("signal", sa.Text, nullable=False),
        sa.Column("previous_raw", sa.BigInteger),
        sa.Column("raw", sa.BigInteger, nullable=False),
        _ts("previous_at"),
        _ts("detected_at", nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("allowed", sa.BigInteger),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("decided_by", sa.Uuid, sa.ForeignKey("users.id", name="fk_counter_anomalies_decided_by")),
        _ts("decided_at"),
        sa.Column("key", sa.Text, nullable=False),
        _ts("created_at", default=True),
        _machine_fk("counter_anomalies"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_counter_anomalies_tenant_key"),
        sa.CheckConstraint(SIGNALS, name="ck_counter_anomalies_signal"),
        sa.CheckConstraint("status in ('pending', 'accepted', 'discarded')", name="ck_counter_anomalies_status"),
    )
    op.create_index("ix_counter_anomalies_tenant_machine_status", "counter_anomalies",
                    ["tenant_id", "machine_id", "status"])


def downgrade() -> None:
    op.drop_table("counter_anomalies")
    op.drop_table("machine_counter_state")
