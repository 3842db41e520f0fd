"""Electronic signatures, nonconformances and CAPA.

Revision ID: 0015_signatures_nc
Revises: 0014_mqtt
"""

revision = "0015_signatures_nc"
down_revision = "0014_mqtt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
