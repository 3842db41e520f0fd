"""Order-tolerant machine state: each interval remembers the times its state was reported again.

Revision ID: 0028_state_order
Revises: 0027_edges

Ingest processes sharing a broker stream may store one machine's state changes out of order.
A late change splits the stored interval it falls into; to split correctly it must know where
the interval's state was reported again after it (true order RUN t1, STOP t2, RUN t3 arriving
as t1, t3, t2 is a two-second stop, not a stop from t2 on). `seen_at` holds those reports:
times inside the interval, after its start, with the same state and raw code.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0028_state_order"
down_revision = "0027_edges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("machine_state_intervals",
                  sa.Column("seen_at", ARRAY(sa.DateTime(timezone=True)), nullable=False,
                            server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("machine_state_intervals", "seen_at")
