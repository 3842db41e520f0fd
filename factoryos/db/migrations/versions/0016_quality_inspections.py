"""Inspection plans, inspections and their measurements.

Revision ID: 0016_quality_inspections
Revises: 0015_signatures_nc
"""

revision = "0016_quality_inspections"
down_revision = "0015_signatures_nc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
