"""0010: `no_data` intervals and the sites' no-data policy, up and down with data in place."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import IntegrityError

from factoryos.db import migrate


def test_0010_accepts_no_data_and_downgrades_it_to_offline(fresh_database) -> None:
    migrate.upgrade(fresh_database.owner, "0010_no_data_policy")
    engine = create_engine(fresh_database.owner, poolclass=pool.NullPool)
    tenant = uuid.uuid4()

    def as_tenant(conn):  # noqa: ANN001, ANN202 - the owner is held to RLS too (FORCE)
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        return conn

    try:
        with engine.begin() as conn:
            as_tenant(conn)
            conn.execute(text("insert into companies (tenant_id, name) values (:t, 'No data')"), {"t": tenant})
            site = conn.execute(text("insert into sites (tenant_id, name, code, timezone) "
                                     "values (:t, 'Hall', 'H', 'UTC') returning id, no_data_policy"),
                                {"t": tenant}).one()
            assert site.no_data_policy == "busy"
            machine = conn.execute(text(
                "insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, status_mapping) "
                "values (:t, :s, 'Press', 'P1', 10, '{}') returning id"), {"t": tenant, "s": site.id}).scalar_one()
            conn.execute(text("insert into machine_state_intervals (tenant_id, machine_id, state, started_at) "
                              "values (:t, :m, 'no_data', '2026-09-01T08:00Z')"), {"t": tenant, "m": machine})
        with pytest.raises(IntegrityError, match="ck_sites_no_data_policy"), engine.begin() as conn:
            as_tenant(conn).execute(text("update sites set no_data_policy = 'sometimes' where id = :s"), {"s": site.id})
        with pytest.raises(IntegrityError, match="ck_machine_state_intervals_state"), engine.begin() as conn:
            as_tenant(conn).execute(text("update machine_state_intervals set state = 'asleep'"))

        migrate.downgrade(fresh_database.owner, "0009_counter_continuity")
        with engine.begin() as conn:
            states = as_tenant(conn).execute(text("select state from machine_state_intervals")).scalars().all()
        assert states == ["offline"]
        migrate.upgrade(fresh_database.owner, "0010_no_data_policy")
        with engine.begin() as conn:
            assert as_tenant(conn).execute(text("select no_data_policy from sites")).scalars().all() == ["busy"]
    finally:
        engine.dispose()
