"""Per-machine certification: a membership may be limited to the machines its person is certified for.

Revision ID: 0025_machine_skills
Revises: 0024_materials_completion

`memberships.machine_ids` NULL means no limit (every machine of the member's sites). The request
transaction carries the list in `app.machine_ids` (set next to `app.site_ids` where the live
membership is read); a RESTRICTIVE policy `machine_scope` on `machines` and on every table keyed
by a machine keeps other machines' rows out of reads and writes, on top of `site_scope`.

Cheap on purpose: the list is read once per statement (an InitPlan), an empty setting
short-circuits before anything else, and a row's key is compared with the array itself: no
subquery, no lookup per row. A NULL machine key is not machine-bound. Self-contained: the SQL
is written here, not taken from live code.
"""

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0025_machine_skills"
down_revision = "0024_materials_completion"
branch_labels = None
depends_on = None

POLICY = "machine_scope"
SCOPE = "(select nullif(current_setting('app.machine_ids', true), '')::uuid[])"

# Every site-scoped table with a machine key (0021's list of machine-keyed tables and the ones
# whose site policy also checks their machine).
_BY_MACHINE = (
    "counter_anomalies", "downtime_events", "inspections", "jobs", "locations", "lot_loads", "lots",
    "machine_connections", "machine_count_buckets", "machine_counter_state", "machine_state_intervals",
    "maintenance_assets", "maintenance_mountings", "maintenance_work_orders", "nonconformances", "operation_runs",
    "order_confirmations", "order_operations", "production_entries", "production_plans", "rejection_entries",
    "stock_movements",
)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _enable(table: str, column: str) -> None:
    assert _IDENT.match(table) and _IDENT.match(column), (table, column)
    # The cast makes ANY take the array, not a subquery's rows.
    check = f"({SCOPE} is null or {column} is null or {column} = any({SCOPE}::uuid[]))"
    op.execute(f"CREATE POLICY {POLICY} ON {table} AS RESTRICTIVE FOR ALL USING {check} WITH CHECK {check}")


def upgrade() -> None:
    op.add_column("memberships", sa.Column("machine_ids", ARRAY(sa.Uuid), nullable=True))
    op.create_check_constraint("ck_memberships_machine_ids_not_empty", "memberships", "cardinality(machine_ids) > 0")
    _enable("machines", "id")
    for table in _BY_MACHINE:
        _enable(table, "machine_id")


def downgrade() -> None:
    for table in ("machines", *_BY_MACHINE):
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.drop_column("memberships", "machine_ids")
