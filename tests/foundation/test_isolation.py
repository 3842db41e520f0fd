"""The tenant isolation matrix, run as the app role, over every table with tenant_id.

Tables are enumerated from the catalog, so a table added by any migration is covered
(and must have a seeder in tests/tenancy_seed.py).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy import Engine, text

from factoryos.db.rls import GLOBAL_TABLES, POLICY_NAME
from factoryos.db.roles import APP_ROLE, libpq_url
from factoryos.db.tenant import tenant_transaction
from tests.tenancy_seed import SEEDERS, seed_tenant

TENANT_TABLES_SQL = """
select c.relname from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
order by c.relname
"""


@pytest.fixture(scope="module")
def tenants(superuser_engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    a, b = uuid.uuid4(), uuid.uuid4()
    with superuser_engine.begin() as conn:
        seed_tenant(conn, a, f"A{a.hex[:6]}")
        seed_tenant(conn, b, f"B{b.hex[:6]}")
    return a, b


@pytest.fixture(scope="module")
def tenant_tables(superuser_engine: Engine) -> list[str]:
    with superuser_engine.connect() as conn:
        return list(conn.execute(text(TENANT_TABLES_SQL)).scalars())


def _app_conn(db_urls, tenant: uuid.UUID | None) -> psycopg.Connection:
    conn = psycopg.connect(libpq_url(db_urls.app))
    conn.execute(
        "select set_config('app.tenant_id', %s, true), set_config('app.user_id', '', true)",
        (str(tenant) if tenant else "",),
    )
    return conn


def _privileges(superuser_engine: Engine, table: str) -> set[str]:
    with superuser_engine.connect() as conn:
        rows = conn.execute(
            text("select privilege_type from information_schema.role_table_grants where grantee = :r and table_name = :t"),
            {"r": APP_ROLE, "t": table},
        )
        return set(rows.scalars())


def test_every_table_is_tenant_scoped_or_named_global(superuser_engine: Engine, tenant_tables: list[str]) -> None:
    with superuser_engine.connect() as conn:
        all_tables = set(
            conn.execute(
                text(
                    "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition"
                )
            ).scalars()
        )
    assert all_tables - set(tenant_tables) <= GLOBAL_TABLES, "tables without tenant_id must be listed in GLOBAL_TABLES"
    assert set(tenant_tables) <= set(SEEDERS), f"add seeders for {set(tenant_tables) - set(SEEDERS)}"


def test_rls_enabled_forced_and_policy_shape(superuser_engine: Engine, tenant_tables: list[str]) -> None:
    with superuser_engine.connect() as conn:
        for table in tenant_tables:
            enabled, forced = conn.execute(
                text("select relrowsecurity, relforcerowsecurity from pg_class where oid = cast(:t as regclass)"),
                {"t": table},
            ).one()
            assert enabled and forced, table
            policies = conn.execute(
                # The RESTRICTIVE site policies (0021) are checked in test_site_scope_catalog.py.
                text("select policyname, qual, with_check, permissive from pg_policies "
                     "where tablename = :t and permissive = 'PERMISSIVE'"),
                {"t": table},
            ).all()
            assert [p.policyname for p in policies] == [POLICY_NAME], table
            for clause in (policies[0].qual, policies[0].with_check):
                assert clause is not None and "app.tenant_id" in clause and "tenant_id" in clause, table


def test_partitions_have_their_own_rls_and_no_direct_grants(superuser_engine: Engine) -> None:
    """Queries through a partition skip the parent's policies: each must carry its own."""
    with superuser_engine.connect() as conn:
        parts = conn.execute(
            text(
                "select c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(select count(*) from pg_policies p where p.tablename = c.relname) as policies, "
                "has_table_privilege(:app, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE') as granted "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'public' and c.relispartition and c.relkind in ('r', 'p')"
            ),
            {"app": APP_ROLE},
        ).all()
    assert parts, "expected partitioned tenant tables (audit_log)"
    for part in parts:
        assert part.relrowsecurity and part.relforcerowsecurity and part.policies == 1, part.relname
        assert not part.granted, f"app role must not reach partition {part.relname} directly"


def test_each_tenant_sees_only_its_rows(db_urls, superuser_engine, tenants, tenant_tables) -> None:
    a, b = tenants
    for table in tenant_tables:
        ident = sql.Identifier(table)
        with superuser_engine.connect() as conn:
            own = conn.execute(text(f"select count(*) from {table} where tenant_id = :t"), {"t": a}).scalar()
        assert own >= 1, f"{table}: seed produced no row for tenant A"
        with _app_conn(db_urls, a) as conn:
            total = conn.execute(sql.SQL("select count(*) from {}").format(ident)).fetchone()[0]
            foreign = conn.execute(
                sql.SQL("select count(*) from {} where tenant_id <> %s").format(ident), (a,)
            ).fetchone()[0]
        assert (total, foreign) == (own, 0), table


def test_no_tenant_set_means_no_rows(db_urls, superuser_engine, tenants, tenant_tables) -> None:
    for table in tenant_tables:
        with superuser_engine.connect() as conn:
            assert conn.execute(text(f"select count(*) from {table}")).scalar() > 0, f"{table} is empty"
        with _app_conn(db_urls, None) as conn:
            assert conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table))).fetchone()[0] == 0, table


def test_insert_under_another_tenant_fails(db_urls, superuser_engine, tenants, tenant_tables) -> None:
    a, b = tenants
    for table in tenant_tables:
        if "INSERT" not in _privileges(superuser_engine, table):
            continue
        ident = sql.Identifier(table)
        # Copy one of A's rows, relabelled as B's, fresh ids where the table has them.
        # OVERRIDING SYSTEM VALUE: a bigint identity id (order_confirmations) takes the fresh one given.
        stmt = sql.SQL(
            "insert into {t} overriding system value "
            "select (jsonb_populate_record(null::{t}, to_jsonb(x) || %s::jsonb)).* from {t} x limit 1"
        ).format(t=ident)
        with superuser_engine.connect() as conn:
            id_type = conn.exec_driver_sql(
                "select data_type from information_schema.columns where table_name = %s and column_name = 'id'",
                (table,)).scalar()
        fresh_id = uuid.uuid4().int % 2**62 if id_type == "bigint" else f'"{uuid.uuid4()}"'
        override = f'{{"tenant_id": "{b}", "id": {fresh_id}, "key": "k-{uuid.uuid4().hex}"}}'
        with _app_conn(db_urls, a) as conn:
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(stmt, (override,))


def test_cross_tenant_update_and_delete_touch_nothing(db_urls, superuser_engine, tenants, tenant_tables) -> None:
    a, b = tenants
    for table in tenant_tables:
        grants = _privileges(superuser_engine, table)
        ident = sql.Identifier(table)
        with _app_conn(db_urls, a) as conn:
            if "UPDATE" in grants:
                cur = conn.execute(sql.SQL("update {} set tenant_id = tenant_id where tenant_id = %s").format(ident), (b,))
                assert cur.rowcount == 0, table
            if "DELETE" in grants:
                cur = conn.execute(sql.SQL("delete from {} where tenant_id = %s").format(ident), (b,))
                assert cur.rowcount == 0, table
            conn.rollback()
        with superuser_engine.connect() as conn:
            assert conn.execute(text(f"select count(*) from {table} where tenant_id = :t"), {"t": b}).scalar() >= 1


def test_moving_a_row_to_another_tenant_fails(db_urls, superuser_engine, tenants, tenant_tables) -> None:
    a, b = tenants
    for table in tenant_tables:
        if "UPDATE" not in _privileges(superuser_engine, table):
            continue
        stmt = sql.SQL("update {t} set tenant_id = %s where ctid = (select ctid from {t} limit 1)").format(
            t=sql.Identifier(table)
        )
        with _app_conn(db_urls, a) as conn:
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(stmt, (b,))


def test_tenant_transaction_scopes_queries(app_engine, tenants) -> None:
    a, b = tenants
    with tenant_transaction(app_engine, a) as conn:
        names = set(conn.execute(text("select name from companies")).scalars())
    assert names == {f"Company A{a.hex[:6]}"}
    # The setting is transaction-local: the pooled connection forgets it.
    with app_engine.connect() as conn:
        assert conn.execute(text("select count(*) from companies")).scalar() == 0
