"""The dashboard flags machines whose maintenance is due, for those who may see maintenance."""

from __future__ import annotations

from tests.maintenance import support as s
from tests.tui.pilot import signed_in, text_of, until
from tui.screens.dashboard import DashboardScreen


async def test_the_dashboard_names_a_machine_with_maintenance_due(app_factory, world, api) -> None:
    press = world.machines[0]
    asset = s.machine_asset(api, world.owner, press["id"])
    s.plan(api, world.owner, asset["id"], name="Weekly lubrication", every_days=7, last_done_at=s.ago(days=8).isoformat())
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        await until(pilot, lambda: "Weekly lubrication" in text_of(pilot, "#dash-maintenance"), what="maintenance line")
        line = text_of(pilot, "#dash-maintenance")
        assert line.startswith("Maintenance due: ") and press["code"] in line, line
        assert app.screen.query_one("#dash-maintenance").display
