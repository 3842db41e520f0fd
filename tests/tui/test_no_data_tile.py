"""A machine the server cannot read shows NO DATA on the dashboard, with no stop waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import record_state_change
from tests.tui.pilot import signed_in, until
from tests.tui.test_dashboard import tile_text
from tui.screens.dashboard import DashboardScreen


async def test_an_unreadable_machine_shows_no_data_not_a_stop(app_factory, world, app_engine):
    machine = world.machines[0]
    tenant, mid = UUID(world.owner.tenant_id), UUID(machine["id"])
    began = datetime.now(UTC) - timedelta(minutes=5)
    with tenant_transaction(app_engine, tenant) as conn:  # as the poller's sink writes it
        record_state_change(conn, tenant, mid, "running", 1, began)
        record_state_change(conn, tenant, mid, "no_data", None, began + timedelta(minutes=1))
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        screen = app.screen
        await until(pilot, lambda: "NO DATA 4m" in tile_text(screen, machine["code"]), what="no data tile")
        tile = next(t for t in screen.query("MachineTile") if str(t.render()).startswith(machine["code"]))
        assert tile.has_class("-no-data") and "⚠" not in tile_text(screen, machine["code"])
        assert "No stops" in str(screen.query_one("#alerts").render())
