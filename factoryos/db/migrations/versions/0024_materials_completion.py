"""Materials: the indexes a trace and a completed order's lot look up by.

A trace gathers the inspections of the orders that made its lots and the nonconformances naming
its lots or those orders; the lots an order made are listed by order. Each lookup had no index
(a sequential scan per trace); these are plain `(tenant_id, …)` b-trees.

Revision ID: 0024_materials_completion
Revises: 0023_saml
"""

from alembic import op

revision = "0024_materials_completion"
down_revision = "0023_saml"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_lots_job", "lots", ["tenant_id", "job_id"]),
    ("ix_inspections_job", "inspections", ["tenant_id", "job_id"]),
    ("ix_inspections_operation", "inspections", ["tenant_id", "operation_id"]),
    ("ix_nonconformances_lot", "nonconformances", ["tenant_id", "lot_id"]),
    ("ix_nonconformances_order", "nonconformances", ["tenant_id", "order_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
