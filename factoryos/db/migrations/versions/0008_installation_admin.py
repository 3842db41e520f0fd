"""Installation administrators: accounts trusted with what spans every company.

Revision ID: 0008_installation_admin
Revises: 0007_ingest

Backups, restores and the license act on the whole installation, yet `admin.system` is held
per company, and any registered account can found a company. The flag on the account (set
on the server host only) is what those operations now need as well.

An existing installation keeps working: its first account, the one the installer's
`factoryos user create-admin` made, becomes its installation administrator.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_installation_admin"
down_revision = "0007_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("installation_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "update users set installation_admin = true "
        "where id = (select id from users order by created_at, id limit 1)"
    )


def downgrade() -> None:
    op.drop_column("users", "installation_admin")
