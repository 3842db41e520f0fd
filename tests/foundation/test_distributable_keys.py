"""Can the schema be distributed by company (e.g. Citus, `tenant_id` as the distribution column)?

A distributed table's primary key and unique constraints must contain the distribution column, and
a foreign key between two distributed tables must join on it, so that every row a key or a
reference touches lives on the same node. This reads the live catalog of the migrated test database
(pg_catalog) and compares what it finds with exact allow-lists: a new table or constraint that
breaks a rule fails here until it is fixed or listed with its reason, and an entry that is fixed
must leave its list (so the lists stay the truth docs/scaling.md quotes).

Global tables (no tenant_id: accounts, directories, the shared catalog) are listed with their
reasons in `factoryos.db.rls.GLOBAL_TABLES`; under Citus they would be reference tables.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from factoryos.db.rls import GLOBAL_TABLES

TENANT_TABLES = """
select c.relname from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
"""
CONSTRAINTS = """
select c.relname as tbl, con.conname as name, con.contype as kind, fr.relname as ref,
       array(select a.attname from unnest(con.conkey) with ordinality k(num, i)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.i) as cols,
       array(select a.attname from unnest(con.confkey) with ordinality k(num, i)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.i) as ref_cols
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_class fr on fr.oid = con.confrelid
where n.nspname = 'public' and con.contype in ('p', 'u', 'f') and not c.relispartition
"""
# Unique indexes that back no constraint (e.g. partial ones): they bind like unique constraints.
UNIQUE_INDEXES = """
select c.relname as tbl, i.relname as name,
       array(select a.attname from unnest(x.indkey) k join pg_attribute a on a.attrelid = c.oid and a.attnum = k)
         as cols
from pg_index x
join pg_class c on c.oid = x.indrelid
join pg_class i on i.oid = x.indexrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and x.indisunique and not c.relispartition
  and not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid)
"""
ID_DEFAULTS = """
select c.relname, coalesce(pg_get_expr(d.adbin, d.adrelid), nullif(a.attidentity::text, '')) as expr
from pg_class c
join pg_attribute a on a.attrelid = c.oid and a.attname = 'id'
left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
where c.relname = any(:tables)
"""

# Primary key is the surrogate `id` alone. Every one is a random UUID or an identity column of
# one table-wide sequence (checked below), so (tenant_id, id) is just as unique: the change for distribution is one mechanical migration per
# table (drop the key, add it on (tenant_id, id)), no data or code change — references to these
# rows already go through tenant_id (the foreign-key rule below).
PK_ID_ONLY = frozenset({
    "areas", "audit_anchors", "auth_sessions", "bom_lines", "boms", "capa_actions", "capas", "counter_anomalies",
    "downtime_events", "edges", "inspection_characteristics", "inspection_plan_versions", "inspection_plans",
    "inspection_results", "inspections", "invites", "item_units", "items", "jobs", "lines", "locations",
    "loss_reasons", "lot_links", "lot_loads", "lots", "machine_state_intervals", "machines",
    "maintenance_assets", "maintenance_mountings", "maintenance_plans", "maintenance_work_orders", "memberships",
    "nonconformance_events", "nonconformances", "operation_runs", "order_confirmations", "order_operations",
    "production_entries", "production_plans", "products", "refresh_tokens", "rejection_entries",
    "routing_operations", "routing_resources", "scim_groups", "scim_tokens", "scim_users", "serials",
    "shift_handover_notes", "shift_instances", "shift_patterns", "shift_signoffs", "signatures", "site_operators",
    "sites", "sso_handoffs", "sso_identities", "sso_mapping_rules", "sso_providers", "stock", "stock_movements",
    "webhook_deliveries", "webhook_endpoints", "webhook_events",
})

# Unique constraints without tenant_id, each with why.
UNIQUE_WITHOUT_TENANT: dict[tuple[str, str], str] = {
    ("scim_tokens", "uq_scim_tokens_hash"):
        "a SCIM client's bearer token is looked up by its hash before the company is known; distributed, "
        "the lookup would move to a reference table of (hash → company) and this key would gain tenant_id",
}

# Foreign keys between tenant tables that do not join on tenant_id, each with why.
FK_WITHOUT_TENANT: dict[tuple[str, str], str] = {
    ("refresh_tokens", "fk_refresh_tokens_session_id_auth_sessions"):
        "a refresh token points at its session by id only (both rows carry the same tenant_id, but the key "
        "does not say so); distributing needs a (tenant_id, id) key on auth_sessions and this key on both columns",
}


@pytest.fixture(scope="module")
def catalog(superuser_engine: Engine) -> dict:
    with superuser_engine.connect() as conn:
        tenant = set(conn.execute(text(TENANT_TABLES)).scalars())
        constraints = [r for r in conn.execute(text(CONSTRAINTS)) if r.tbl in tenant]
        indexes = [r for r in conn.execute(text(UNIQUE_INDEXES)) if r.tbl in tenant]
        defaults = dict(conn.execute(text(ID_DEFAULTS), {"tables": sorted(PK_ID_ONLY)}).all())
        every = set(conn.execute(text(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition")).scalars())
    return {"tenant": tenant, "constraints": constraints, "indexes": indexes, "defaults": defaults, "all": every}


def test_tables_without_tenant_id_are_the_named_global_ones(catalog: dict) -> None:
    assert catalog["all"] - catalog["tenant"] == GLOBAL_TABLES


def test_primary_keys_carry_tenant_id_or_are_a_listed_random_id(catalog: dict) -> None:
    pks = {r.tbl: list(r.cols) for r in catalog["constraints"] if r.kind == "p"}
    assert set(pks) == catalog["tenant"], f"tenant tables without a primary key: {catalog['tenant'] - set(pks)}"
    without = {t for t, cols in pks.items() if "tenant_id" not in cols}
    assert without - PK_ID_ONLY == set(), "new primary keys without tenant_id: key them on (tenant_id, …)"
    assert PK_ID_ONLY - without == set(), "these keys carry tenant_id now: take them off PK_ID_ONLY"
    assert {t: pks[t] for t in PK_ID_ONLY if pks[t] != ["id"]} == {}
    # gen_random_uuid(), or 'a'/'d': an identity column (one sequence for the whole table)
    not_unique_alone = {t: e for t, e in catalog["defaults"].items()
                        if e is None or not ("gen_random_uuid" in e or e in ("a", "d"))}
    assert not_unique_alone == {}, "an id-only key is reasoned as unique table-wide by its default"


def test_unique_constraints_and_indexes_carry_tenant_id(catalog: dict) -> None:
    found = {(r.tbl, r.name) for r in catalog["constraints"] if r.kind == "u" and "tenant_id" not in r.cols}
    found |= {(r.tbl, r.name) for r in catalog["indexes"] if "tenant_id" not in r.cols}
    assert found == set(UNIQUE_WITHOUT_TENANT), (
        f"new: {found - set(UNIQUE_WITHOUT_TENANT)}; fixed, take off the list: {set(UNIQUE_WITHOUT_TENANT) - found}")


def test_foreign_keys_between_tenant_tables_join_on_tenant_id(catalog: dict) -> None:
    found = set()
    for r in catalog["constraints"]:
        if r.kind != "f" or r.ref not in catalog["tenant"]:
            continue  # a reference to a global table (users, the catalog): a reference table when distributed
        cols, ref_cols = list(r.cols), list(r.ref_cols)
        if "tenant_id" not in cols or ref_cols[cols.index("tenant_id")] != "tenant_id":
            found.add((r.tbl, r.name))
    assert found == set(FK_WITHOUT_TENANT), (
        f"new: {found - set(FK_WITHOUT_TENANT)}; fixed, take off the list: {set(FK_WITHOUT_TENANT) - found}")
