"""0014_mqtt: MQTT connections become possible, and going back deletes only them."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import IntegrityError

from factoryos.db import migrate

TENANT = "00000000-0000-4000-8000-000000000014"


def test_0014_allows_mqtt_and_its_downgrade_drops_only_mqtt_connections(fresh_database) -> None:
    owner = fresh_database.owner
    migrate.upgrade(owner, "0014_mqtt")
    engine = create_engine(owner, poolclass=pool.NullPool)

    def connections() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": TENANT})
            return dict(conn.execute(text("select m.code, c.protocol from machine_connections c "
                                          "join machines m on m.id = c.machine_id")).all())

    try:
        with engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": TENANT})
            conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Brokers')"), {"t": TENANT})
            site = conn.execute(text("insert into sites (tenant_id, name, code, timezone) "
                                     "values (:t, 'Plant', 'P1', 'UTC') returning id"), {"t": TENANT}).scalar_one()
            for code, protocol in (("PLC", "modbus"), ("UNS", "mqtt")):
                machine = conn.execute(text(
                    "insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, status_mapping) "
                    "values (:t, :s, :c, :c, 1, '{}') returning id"), {"t": TENANT, "s": site, "c": code}).scalar_one()
                conn.execute(text("insert into machine_connections (tenant_id, machine_id, protocol, endpoint, signals) "
                                  "values (:t, :m, :p, '{}', '{}')"), {"t": TENANT, "m": machine, "p": protocol})
        assert connections() == {"PLC": "modbus", "UNS": "mqtt"}

        migrate.downgrade(owner, "0013_shift_handover")
        assert connections() == {"PLC": "modbus"}
        with pytest.raises(IntegrityError, match="ck_machine_connections_protocol"), engine.begin() as conn:
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": TENANT})
            conn.execute(text("update machine_connections set protocol = 'mqtt'"))
        migrate.upgrade(owner, "0014_mqtt")
        assert connections() == {"PLC": "modbus"}
    finally:
        engine.dispose()
