"""Assets, maintenance plans and work orders.

Revision ID: 0017_maintenance
Revises: 0016_quality_inspections
"""

revision = "0017_maintenance"
down_revision = "0016_quality_inspections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
