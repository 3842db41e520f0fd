"""Every revision goes up and down on a real database; the query layer matches the DDL."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text

from factoryos.db import migrate
from factoryos.db.rls import GLOBAL_TABLES
from factoryos.schema import metadata


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - GLOBAL_TABLES
    finally:
        engine.dispose()


def test_up_to_head_down_to_base_and_up_again(fresh_database) -> None:
    owner = fresh_database.owner
    migrate.upgrade(owner)
    assert migrate.current(owner) == migrate.head_revision()
    assert {"companies", "sites", "idempotency_keys"} <= _tables(owner)
    migrate.downgrade(owner, "base")
    assert migrate.current(owner) is None
    assert _tables(owner) == set()
    migrate.upgrade(owner)
    assert migrate.current(owner) == migrate.head_revision()


@pytest.mark.slow  # every revision down and up again; the fast suite walks all of them down and up once (above)
def test_each_revision_steps_down_and_up(fresh_database) -> None:
    owner = fresh_database.owner
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for rev in revisions:
        migrate.upgrade(owner, rev)
        before = _tables(owner)
        migrate.downgrade(owner, "-1")
        migrate.upgrade(owner, rev)
        assert migrate.current(owner) == rev
        assert _tables(owner) == before


def test_query_layer_matches_migrated_schema(db_urls) -> None:
    engine = create_engine(db_urls.owner, poolclass=pool.NullPool)
    try:
        insp = inspect(engine)
        for table in metadata.sorted_tables:
            db_cols = {c["name"] for c in insp.get_columns(table.name)}
            assert {c.name for c in table.columns} == db_cols, table.name
    finally:
        engine.dispose()


def test_site_timezone_must_be_iana(superuser_engine) -> None:
    import uuid

    import pytest
    from sqlalchemy.exc import IntegrityError

    tenant = uuid.uuid4()
    with superuser_engine.connect() as conn:
        conn.execute(text("insert into companies (tenant_id, name) values (:t, 'TZ test')"), {"t": tenant})
        with pytest.raises((IntegrityError, Exception), match="time zone"):
            conn.execute(
                text("insert into sites (tenant_id, name, code, timezone) values (:t, 'x', 'x', 'Mars/Olympus')"),
                {"t": tenant},
            )
        conn.rollback()


def test_0007_ingest_drops_the_implied_company_keys_and_brings_them_back(fresh_database) -> None:
    owner = fresh_database.owner
    keys = ("fk_machine_count_buckets_tenant_id_companies", "fk_machine_state_intervals_tenant_id_companies")

    def present() -> tuple[set[str], str]:
        engine = create_engine(owner, poolclass=pool.NullPool)
        try:
            with engine.connect() as conn:
                names = set(conn.execute(text("select conname from pg_constraint where conname = any(:k)"),
                                         {"k": list(keys)}).scalars())
                body = conn.execute(text("select prosrc from pg_proc where proname = 'production_reject_overlap'"))
                return names, body.scalar_one()
        finally:
            engine.dispose()

    migrate.upgrade(owner, "0007_ingest")
    names, body = present()
    assert names == set() and "tstzrange" not in body and "order by started_at desc limit 1" in body
    migrate.downgrade(owner, "0006_onboarding")
    names, body = present()
    assert names == set(keys) and "tstzrange" in body


def test_0008_makes_the_first_account_of_an_existing_installation_its_installation_admin(fresh_database) -> None:
    owner = fresh_database.owner
    migrate.upgrade(owner, "0007_ingest")
    engine = create_engine(owner, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            for email, created in (("later@shop.example", "2026-05-02"), ("installer@shop.example", "2026-05-01")):
                conn.execute(text("insert into users (email, password_hash, created_at) values (:e, 'x', :c)"),
                             {"e": email, "c": created})  # fmt: skip
        migrate.upgrade(owner, "0008_installation_admin")
        with engine.connect() as conn:
            flags = dict(conn.execute(text("select email, installation_admin from users")).all())
        assert flags == {"installer@shop.example": True, "later@shop.example": False}
        migrate.downgrade(owner, "0007_ingest")
        with engine.connect() as conn:
            assert "installation_admin" not in {c["name"] for c in inspect(conn).get_columns("users")}
    finally:
        engine.dispose()


def test_0012_makes_jobs_orders_with_one_operation_each_and_back(fresh_database) -> None:
    owner = fresh_database.owner
    migrate.upgrade(owner, "0011_audit_anchors")
    engine = create_engine(owner, poolclass=pool.NullPool)
    tenant = "00000000-0000-4000-8000-000000000012"

    def jobs() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": tenant})
            return dict(conn.execute(text("select job_number, status from jobs")).all())

    try:
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": tenant})
            conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Old Jobs')"), {"t": tenant})
            for number, status in (("J-1", "open"), ("J-2", "released"), ("J-3", "done")):
                conn.execute(text("insert into jobs (tenant_id, job_number, product, quantity, due_date, status) "
                                  "values (:t, :n, 'Bracket', 40, '2026-12-24', :s)"),
                             {"t": tenant, "n": number, "s": status})  # fmt: skip
        migrate.upgrade(owner, "0012_execution")
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": tenant})
            rows = conn.execute(text(
                "select j.job_number, j.status, o.seq, o.name, o.quantity, o.status from jobs j "
                "join order_operations o on o.job_id = j.id order by 1")).all()
        assert [tuple(r) for r in rows] == [
            ("J-1", "planned", 10, "Production", 40, "planned"),
            ("J-2", "released", 10, "Production", 40, "released"),
            ("J-3", "completed", 10, "Production", 40, "completed"),
        ]
        migrate.downgrade(owner, "0011_audit_anchors")
        assert jobs() == {"J-1": "open", "J-2": "released", "J-3": "done"}
    finally:
        engine.dispose()
