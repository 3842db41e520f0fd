"""Items, locations, lots, stock movements, bills of materials and genealogy.

Revision ID: 0018_materials
Revises: 0017_maintenance
"""

revision = "0018_materials"
down_revision = "0017_maintenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
