"""The connection form tells the time of the machine's site, as the machines list does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from textual.widgets import DataTable

from factoryos.connectivity.connections import record_health
from factoryos.connectivity.events import Health
from factoryos.db.tenant import tenant_transaction
from tests.accounts import PASSWORD, new_company
from tests.production import plant
from tests.tui.pilot import signed_in, text_of, until
from tui.screens.connection_form import ConnectionForm
from tui.screens.machines import MachinesScreen


async def test_last_ok_is_in_the_sites_time(app_factory, api, app_engine):
    owner = new_company(api, timezone="UTC")
    site = plant.site(api, owner, timezone="Asia/Kolkata", name="Pune plant")  # UTC+05:30, no DST
    machine = plant.machine(api, owner, site["id"], code="PRESS-01", name="Press one")
    body = {"protocol": "modbus", "enabled": False, "endpoint": {"host": "127.0.0.1", "port": 1502},
            "signals": {"good": {"address": 10}, "reject": {"address": 12}, "state": {"address": 14}}}
    r = api.put(f"/api/v1/machines/{machine['id']}/connection", json=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    seen = datetime.now(UTC).replace(microsecond=0)
    pune = seen.astimezone(ZoneInfo("Asia/Kolkata"))
    tenant, machine_id = uuid.UUID(owner.tenant_id), uuid.UUID(machine["id"])
    with tenant_transaction(app_engine, tenant) as conn:
        record_health(conn, tenant, [(machine_id, Health(machine_id=machine["id"], last_ok=seen, last_error=None,
                                                         at=datetime.now(UTC)))])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        table = app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, what="machine listed")
        assert str(table.get_row(machine["id"])[4]) == f"{pune:%m-%d %H:%M:%S}"  # the list: Pune's clock
        table.focus()
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConnectionForm), what="connection form")
        assert f"last ok {pune:%Y-%m-%d %H:%M:%S}" in text_of(pilot, "#cf-health")
