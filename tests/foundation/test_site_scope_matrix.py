"""The cross-site twin of the tenant isolation matrix, run as the app role over every table
carrying the `site_scope` policy (found from the catalog, like test_isolation.py's tables).

One company is seeded with every tenant table (tests/tenancy_seed.py), all of it at its one
site; a second, empty site is added. A transaction limited to the empty site must then see,
change, delete and add nothing site-bound of the first; one limited to the first site, and one
without a limit, see every row.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy import Engine, text

from factoryos.db.migrations.helpers_v2_site import SITE_POLICY
from factoryos.db.roles import APP_ROLE, libpq_url
from factoryos.db.tenant import site_scope_literal, tenant_transaction
from tests.foundation.test_site_scope_catalog import SITE_KEYS
from tests.tenancy_seed import seed_tenant


@pytest.fixture(scope="module")
def plant(superuser_engine: Engine) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(tenant, the seeded site, an empty second site)."""
    tenant = uuid.uuid4()
    with superuser_engine.begin() as conn:
        seed_tenant(conn, tenant, f"X{tenant.hex[:6]}")
        seeded = conn.execute(text("select id from sites where tenant_id = :t"), {"t": tenant}).scalar_one()
        empty = conn.execute(
            text("insert into sites (tenant_id, name, code, timezone) values (:t, 'Second', :c, 'Europe/Vienna') "
                 "returning id"), {"t": tenant, "c": f"S2-{tenant.hex[:6]}"}).scalar_one()
        _bind_unbound_rows(conn, tenant)
    return tenant, seeded, empty


# A seeder may leave an optional key NULL (a lot made on no machine): such a table gets one row
# bound to the seeded site's parent, so that every policy is exercised.
_PARENT_OF = {"machine_id": "machines", "site_id": "sites", "asset_id": "maintenance_assets",
              "location_id": "locations", "shift_instance_id": "shift_instances"}


def _bind_unbound_rows(conn, tenant: uuid.UUID) -> None:
    for table in conn.execute(text("select tablename from pg_policies where policyname = :p"), {"p": SITE_POLICY}).scalars():
        keys = list(conn.execute(
            text("select attname from pg_attribute where attrelid = cast(:t as regclass) and attname = any(:k) "
                 "and not attisdropped"), {"t": table, "k": list(_PARENT_OF)}).scalars())
        if not keys or conn.execute(text(f"select count(*) from {table} where tenant_id = :t and {_bound(keys)}"),
                                    {"t": tenant}).scalar():
            continue
        key = keys[0]
        conn.execute(text(f"update {table} set {key} = (select id from {_PARENT_OF[key]} where tenant_id = :t limit 1) "
                          f"where ctid = (select ctid from {table} where tenant_id = :t limit 1)"), {"t": tenant})


@pytest.fixture(scope="module")
def site_tables(superuser_engine: Engine) -> dict[str, list[str]]:
    """Every table with the site policy, and its site key columns."""
    with superuser_engine.connect() as conn:
        tables = list(conn.execute(text("select tablename from pg_policies where policyname = :p order by 1"),
                                   {"p": SITE_POLICY}).scalars())
        keys = {t: list(conn.execute(
            text("select attname from pg_attribute where attrelid = cast(:t as regclass) and attname = any(:k) "
                 "and not attisdropped"), {"t": t, "k": list(SITE_KEYS)}).scalars()) for t in tables}
    keys["sites"] = ["id"]
    return keys


def _privileges(superuser_engine: Engine, table: str) -> set[str]:
    with superuser_engine.connect() as conn:
        return set(conn.execute(
            text("select privilege_type from information_schema.role_table_grants where grantee = :r and table_name = :t"),
            {"r": APP_ROLE, "t": table}).scalars())


def _conn(db_urls, tenant: uuid.UUID, sites: list[uuid.UUID] | None) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(db_urls.app))
    conn.execute("select set_config('app.tenant_id', %s, true), set_config('app.site_ids', %s, true)",
                 (str(tenant), site_scope_literal(sites)))
    return conn


def _count(conn: psycopg.Connection, table: str, where: str = "true") -> int:
    row = conn.execute(sql.SQL("select count(*) from {} where " + where).format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def _bound(keys: list[str]) -> str:
    """Rows bound to a site: some key set (a NULL key binds to no site)."""
    return "(" + " or ".join(f"{k} is not null" for k in keys) + ")"


def test_seed_binds_every_site_table(superuser_engine, plant, site_tables) -> None:
    tenant = plant[0]
    with superuser_engine.connect() as conn:
        for table, keys in site_tables.items():
            n = conn.execute(text(f"select count(*) from {table} where tenant_id = :t and {_bound(keys)}"),
                             {"t": tenant}).scalar()
            assert n and n >= 1, f"{table}: the seed has no site-bound row, the matrix would prove nothing"


def test_other_site_sees_nothing_own_site_and_unscoped_see_all(db_urls, superuser_engine, plant, site_tables) -> None:
    tenant, seeded, empty = plant
    for table, keys in site_tables.items():
        with superuser_engine.connect() as conn:
            total = conn.execute(text(f"select count(*) from {table} where tenant_id = :t"), {"t": tenant}).scalar()
            unbound = conn.execute(text(f"select count(*) from {table} where tenant_id = :t and not {_bound(keys)}"),
                                   {"t": tenant}).scalar()
        expected_other = unbound + (1 if table == "sites" else 0)  # the empty site itself
        with _conn(db_urls, tenant, [empty]) as conn:
            assert _count(conn, table) == expected_other, table
        with _conn(db_urls, tenant, [seeded]) as conn:
            assert _count(conn, table) == total - (1 if table == "sites" else 0), table
        with _conn(db_urls, tenant, None) as conn:
            assert _count(conn, table) == total, table


def test_other_site_updates_and_deletes_touch_nothing(db_urls, superuser_engine, plant, site_tables) -> None:
    tenant, _, empty = plant
    for table, keys in site_tables.items():
        grants = _privileges(superuser_engine, table)
        ident = sql.Identifier(table)
        where = sql.SQL(_bound(keys) + (" and id <> %s" if table == "sites" else " and %s::uuid is not null"))
        with _conn(db_urls, tenant, [empty]) as conn:
            if "UPDATE" in grants:
                cur = conn.execute(sql.SQL("update {} set tenant_id = tenant_id where ").format(ident) + where, (empty,))
                assert cur.rowcount == 0, table
            if "DELETE" in grants:
                cur = conn.execute(sql.SQL("delete from {} where ").format(ident) + where, (empty,))
                assert cur.rowcount == 0, table
            conn.rollback()
        with superuser_engine.connect() as conn:
            assert conn.execute(text(f"select count(*) from {table} where tenant_id = :t and {_bound(keys)}"),
                                {"t": tenant}).scalar(), table


def test_other_site_cannot_add_rows_to_the_first(db_urls, superuser_engine, plant, site_tables) -> None:
    """A copy of a row of the seeded site (fresh ids), inserted from the empty site's scope, is refused."""
    tenant, _, empty = plant
    for table, keys in site_tables.items():
        if table == "sites" or "INSERT" not in _privileges(superuser_engine, table):
            continue
        with superuser_engine.connect() as conn:
            # Read as the superuser: the scoped role cannot even see the row it copies.
            row = conn.execute(text(f"select to_jsonb(x) from {table} x where tenant_id = :t and {_bound(keys)} "
                                    "limit 1"), {"t": tenant}).scalar_one()
            id_type = conn.exec_driver_sql(
                "select data_type from information_schema.columns where table_name = %s and column_name = 'id'",
                (table,)).scalar()
        row |= {"id": uuid.uuid4().int % 2**62 if id_type == "bigint" else str(uuid.uuid4()),
                "key": f"k-{uuid.uuid4().hex}", "code": f"C-{uuid.uuid4().hex[:8]}"}
        copy = sql.SQL("insert into {t} overriding system value "
                       "select (jsonb_populate_record(null::{t}, %s::jsonb)).*").format(t=sql.Identifier(table))
        with _conn(db_urls, tenant, [empty]) as conn:
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(copy, (json.dumps(row),))


def test_moving_a_row_to_another_site_fails(db_urls, superuser_engine, plant) -> None:
    tenant, seeded, empty = plant
    with _conn(db_urls, tenant, [seeded]) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("update machines set site_id = %s where tenant_id = %s", (empty, tenant))


def test_tenant_transaction_carries_the_scope(app_engine, plant) -> None:
    tenant, seeded, empty = plant
    with tenant_transaction(app_engine, tenant, site_ids=[empty]) as conn:
        assert conn.execute(text("select count(*) from machines")).scalar() == 0
    with tenant_transaction(app_engine, tenant, site_ids=[seeded]) as conn:
        assert conn.execute(text("select count(*) from machines")).scalar() >= 1
    # Transaction-local: the pooled connection forgets it, an empty list sees no site.
    with tenant_transaction(app_engine, tenant) as conn:
        assert conn.execute(text("select count(*) from machines")).scalar() >= 1
    with tenant_transaction(app_engine, tenant, site_ids=[]) as conn:
        assert conn.execute(text("select count(*) from sites")).scalar() == 0
