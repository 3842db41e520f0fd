"""Site-scoped access: a membership (and an SSO mapping rule) may be limited to some sites.

Revision ID: 0021_site_scope
Revises: 0020_webhooks

`memberships.site_ids` NULL means every site. The request transaction carries the caller's
sites in `app.site_ids`; a RESTRICTIVE policy `site_scope` on each site-bound table keeps the
rows of other sites out of every read and write, like the tenant policy keeps other companies
out (see helpers_v2_site). Master data that names machines without being bound to a site
(routing resources, inspection plans) stays visible to the whole company.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from factoryos.db.migrations.helpers_v2_site import disable_site_scope, enable_site_scope, key_in_scope

revision = "0021_site_scope"
down_revision = "0020_webhooks"
branch_labels = None
depends_on = None

_BY_SITE = ("areas", "lines", "machines", "shift_patterns", "shift_instances", "site_operators")
_BY_MACHINE = (
    "counter_anomalies", "downtime_events", "inspections", "lot_loads", "lots", "machine_connections",
    "machine_count_buckets", "machine_counter_state", "machine_state_intervals", "maintenance_assets",
    "nonconformances", "operation_runs", "order_confirmations", "order_operations", "production_entries",
    "production_plans", "rejection_entries",
)
_BY_SHIFT = ("shift_handover_notes", "shift_signoffs")


def _policies() -> dict[str, str]:
    machine = key_in_scope("machine_id", "machine")
    policies = {"sites": key_in_scope("id", "site")}
    policies.update({t: key_in_scope("site_id", "site") for t in _BY_SITE})
    policies.update(dict.fromkeys(_BY_MACHINE, machine))
    policies.update({t: key_in_scope("shift_instance_id", "shift_instance") for t in _BY_SHIFT})
    policies["jobs"] = f"{key_in_scope('site_id', 'site')} and {machine}"
    policies["locations"] = f"{key_in_scope('site_id', 'site')} and {machine}"
    policies["stock"] = key_in_scope("location_id", "location")
    policies["maintenance_plans"] = key_in_scope("asset_id", "asset")
    for table in ("maintenance_mountings", "maintenance_work_orders"):
        policies[table] = f"{key_in_scope('asset_id', 'asset')} and {machine}"
    # A transfer is seen from both ends: by the sites it leaves and the sites it reaches.
    policies["stock_movements"] = (
        f"{machine} and ((from_location_id is null and to_location_id is null) "
        "or from_location_id in (select l.id from public.locations l) "
        "or to_location_id in (select l.id from public.locations l))"
    )
    return policies


def upgrade() -> None:
    op.add_column("memberships", sa.Column("site_ids", ARRAY(sa.Uuid), nullable=True))
    op.create_check_constraint("ck_memberships_site_ids_not_empty", "memberships", "cardinality(site_ids) > 0")
    op.add_column("sso_mapping_rules", sa.Column("site_ids", ARRAY(sa.Uuid), nullable=True))
    op.create_check_constraint("ck_sso_mapping_rules_site_ids_not_empty", "sso_mapping_rules",
                               "cardinality(site_ids) > 0")
    for table, predicate in _policies().items():
        enable_site_scope(op, table, predicate)


def downgrade() -> None:
    for table in _policies():
        disable_site_scope(op, table)
    op.drop_column("sso_mapping_rules", "site_ids")
    op.drop_column("memberships", "site_ids")
