"""Identity providers, group-to-role mapping and external identities.

Revision ID: 0019_sso
Revises: 0018_materials
"""

revision = "0019_sso"
down_revision = "0018_materials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
