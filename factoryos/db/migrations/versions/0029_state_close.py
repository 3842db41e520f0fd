"""Closing a machine interval skips the overlap check: a narrowed interval cannot overlap anything.

Revision ID: 0029_state_close
Revises: 0028_state_order

Every state change closes the machine's open interval (`ended_at` from null to the change's
instant) and the stop it ends closes its downtime event the same way; the overlap trigger ran
on each of those updates (an advisory lock and an index step per row, a fifth of the cost of a
batch close). An update that keeps the machine and neither moves the start earlier nor the end
later only shrinks the interval, so the rows it did not overlap before it does not overlap
after: the update trigger now fires only when an interval moves or grows (a late change that
starts an interval earlier, an operator widening recorded downtime). Inserts are checked as
before.
"""

from alembic import op

revision = "0029_state_close"
down_revision = "0028_state_order"
branch_labels = None
depends_on = None

TABLES = ("machine_state_intervals", "downtime_events")

_GROWS = ("new.machine_id is distinct from old.machine_id or new.started_at < old.started_at "
          "or coalesce(new.ended_at, 'infinity') > coalesce(old.ended_at, 'infinity')")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"drop trigger {table}_no_overlap on {table}")
        op.execute(f"create trigger {table}_no_overlap before insert on {table} "
                   "for each row execute function production_reject_overlap()")
        op.execute(f"create trigger {table}_no_overlap_grown before update of started_at, ended_at, machine_id "
                   f"on {table} for each row when ({_GROWS}) execute function production_reject_overlap()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"drop trigger {table}_no_overlap_grown on {table}")
        op.execute(f"drop trigger {table}_no_overlap on {table}")
        op.execute(f"create trigger {table}_no_overlap before insert or update of started_at, ended_at, machine_id "
                   f"on {table} for each row execute function production_reject_overlap()")
