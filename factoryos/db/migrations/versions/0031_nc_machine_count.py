"""A nonconformance can come from scrap a machine counted: source `machine_count` and its hour.

Revision ID: 0031_nc_machine_count
Revises: 0030_signal_overlap_set

Scrap a machine's reject counter counted has no record of its own (it is summed into minute
buckets), so such an NC names its source by machine and hour: `source_at`, the start of the
hour (UTC), set exactly when the source is `machine_count`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_nc_machine_count"
down_revision = "0030_signal_overlap_set"
branch_labels = None
depends_on = None

_SOURCES_BEFORE = "source in ('manual', 'inspection', 'rejection')"
_SOURCES = "source in ('manual', 'inspection', 'rejection', 'machine_count')"


def upgrade() -> None:
    op.add_column("nonconformances", sa.Column("source_at", sa.DateTime(timezone=True)))
    op.drop_constraint("ck_nonconformances_source", "nonconformances", type_="check")
    op.create_check_constraint("ck_nonconformances_source", "nonconformances", _SOURCES)
    op.create_check_constraint("ck_nonconformances_source_at", "nonconformances",
                               "(source = 'machine_count') = (source_at is not null)")


def downgrade() -> None:
    # The older schema cannot name an hour of counted scrap: such NCs read as opened by hand.
    op.drop_constraint("ck_nonconformances_source_at", "nonconformances", type_="check")
    op.execute("update nonconformances set source = 'manual' where source = 'machine_count'")
    op.drop_constraint("ck_nonconformances_source", "nonconformances", type_="check")
    op.create_check_constraint("ck_nonconformances_source", "nonconformances", _SOURCES_BEFORE)
    op.drop_column("nonconformances", "source_at")
