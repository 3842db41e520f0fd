"""0020: the webhook tables, their company directory and its function, up, down and up again."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, inspect, pool, text

from factoryos.db import migrate

TABLES = {"webhook_endpoints", "webhook_events", "webhook_deliveries", "webhook_directory"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0020_up_down_up(fresh_database) -> None:
    owner, app = fresh_database.owner, fresh_database.app
    migrate.upgrade(owner, "0020_webhooks")
    assert _tables(owner) >= TABLES
    tenant = uuid.uuid4()
    engine = create_engine(owner, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Hooks')"), {"t": tenant})
            conn.execute(text("insert into webhook_endpoints (tenant_id, url, events, secret_encrypted) "
                              "values (:t, 'https://mes.lan/h', array['anomaly.recorded'], 'x')"), {"t": tenant})
    finally:
        engine.dispose()
    # The app role learns which companies have endpoints, and nothing else, without a tenant set.
    app_engine = create_engine(app, poolclass=pool.NullPool)
    try:
        with app_engine.connect() as conn:
            assert list(conn.execute(text("select * from webhook_companies()")).scalars()) == [tenant]
            assert conn.execute(text("select count(*) from webhook_endpoints")).scalar_one() == 0  # RLS
    finally:
        app_engine.dispose()
    migrate.downgrade(owner, "0019_sso")
    assert not TABLES & _tables(owner)
    migrate.upgrade(owner, "0020_webhooks")
    assert _tables(owner) >= TABLES
