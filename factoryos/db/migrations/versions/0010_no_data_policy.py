"""No data: an unreadable machine is its own state, and each site says how OEE treats it.

Revision ID: 0010_no_data_policy
Revises: 0009_counter_continuity

The poller wrote `offline` when it could not read a machine, and `offline` is an unplanned
stop: downtime opened and waited for a reason, MTBF counted a failure. It now writes
`no_data`, which is no stop. Rows already stored as `offline` keep their meaning (an
unplanned stop): rewriting them would change reported history and close or orphan downtime
an operator may already have explained.

`sites.no_data_policy` says how OEE treats no-data time: `busy` (default: planned busy and
run time, reported as its own loss), `planned` (like a planned stop) or `unplanned` (an
availability loss, never a failure nor downtime). Downgrading turns stored `no_data`
intervals into `offline`, the nearest state the older schema knows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_no_data_policy"
down_revision = "0009_counter_continuity"
branch_labels = None
depends_on = None

_OLD_STATES = ("running", "idle", "planned_stop", "unplanned_stop", "setup", "offline")
_NEW_STATES = (*_OLD_STATES, "no_data")
_STATE_CHECK = "ck_machine_state_intervals_state"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _state_check(values: tuple[str, ...]) -> None:
    op.drop_constraint(_STATE_CHECK, "machine_state_intervals", type_="check")
    op.create_check_constraint(_STATE_CHECK, "machine_state_intervals", _in("state", values))


def upgrade() -> None:
    _state_check(_NEW_STATES)
    op.add_column("sites", sa.Column("no_data_policy", sa.Text, nullable=False, server_default="busy"))
    op.create_check_constraint("ck_sites_no_data_policy", "sites",
                               _in("no_data_policy", ("busy", "planned", "unplanned")))


def downgrade() -> None:
    op.drop_column("sites", "no_data_policy")
    # Every company's rows: FORCE would hide them from the owner running this (no tenant set).
    op.execute("alter table machine_state_intervals no force row level security")
    op.execute("update machine_state_intervals set state = 'offline' where state = 'no_data'")
    op.execute("alter table machine_state_intervals force row level security")
    _state_check(_OLD_STATES)
