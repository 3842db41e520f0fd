"""Every site-bound tenant table carries the RESTRICTIVE `site_scope` policy (migration 0021).

Tables are found from the catalog by their key columns, so a table a later migration adds with a
machine_id, site_id, … column fails here until it gets the policy (helpers_v2_site) or is named
below as company-wide master data, with the reason.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from factoryos.db.migrations.helpers_v2_site import SITE_POLICY

SITE_KEYS = ("site_id", "machine_id", "line_id", "area_id", "location_id", "asset_id", "shift_instance_id",
             "from_location_id", "to_location_id")

# Master data that names machines or lines but belongs to the whole company.
NOT_SITE_BOUND = {
    "routing_resources": "a product's routing: which machines can run an operation, planned company-wide",
    "inspection_plans": "versioned plan definitions, released for the company; inspections are scoped",
}

SITE_BOUND_SQL = """
select distinct c.relname from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and not a.attisdropped and a.attname = any(:keys)
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
  and exists (select 1 from pg_attribute t where t.attrelid = c.oid and t.attname = 'tenant_id')
order by 1
"""


def test_every_site_bound_table_has_a_site_policy(superuser_engine: Engine) -> None:
    with superuser_engine.connect() as conn:
        bound = set(conn.execute(text(SITE_BOUND_SQL), {"keys": list(SITE_KEYS)}).scalars()) | {"sites"}
        policies = {
            r.tablename: r for r in conn.execute(
                text("select tablename, permissive, cmd, qual, with_check from pg_policies where policyname = :p"),
                {"p": SITE_POLICY},
            )
        }
    assert bound - set(NOT_SITE_BOUND), "no site-bound table found: the catalog query is wrong"
    missing = bound - set(NOT_SITE_BOUND) - set(policies)
    assert not missing, f"site-bound tables without a {SITE_POLICY} policy (helpers_v2_site): {sorted(missing)}"
    for table, policy in policies.items():
        assert policy.permissive == "RESTRICTIVE" and policy.cmd == "ALL", table
        for clause in (policy.qual, policy.with_check):
            assert clause is not None and "app.site_ids" in clause, table
    assert not set(NOT_SITE_BOUND) & set(policies), "a table named master data has a site policy"


MACHINE_POLICY = "machine_scope"  # migration 0025: per-machine certification

MACHINE_KEYED_SQL = """
select distinct c.relname from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and not a.attisdropped and a.attname = 'machine_id'
join pg_policies p on p.schemaname = 'public' and p.tablename = c.relname and p.policyname = :site
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
order by 1
"""


def test_every_machine_keyed_table_has_a_cheap_machine_policy(superuser_engine: Engine) -> None:
    """Every site-scoped table keyed by a machine (and `machines` itself) carries the RESTRICTIVE
    `machine_scope` policy; it compares the key with the setting's array and reads no table, so an
    empty `app.machine_ids` costs one setting read per statement."""
    with superuser_engine.connect() as conn:
        keyed = set(conn.execute(text(MACHINE_KEYED_SQL), {"site": SITE_POLICY}).scalars()) | {"machines"}
        policies = {
            r.tablename: r for r in conn.execute(
                text("select tablename, permissive, cmd, qual, with_check from pg_policies where policyname = :p"),
                {"p": MACHINE_POLICY},
            )
        }
    assert len(keyed) > 10, "the catalog query is wrong"
    missing = keyed - set(policies)
    assert not missing, f"machine-keyed tables without a {MACHINE_POLICY} policy (0025): {sorted(missing)}"
    for table, policy in policies.items():
        assert policy.permissive == "RESTRICTIVE" and policy.cmd == "ALL", table
        for clause in (policy.qual, policy.with_check):
            assert clause is not None and "app.machine_ids" in clause, table
            assert " from " not in clause.lower(), f"{table}: the machine policy reads a table: {clause}"
