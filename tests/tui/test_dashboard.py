"""The live dashboard follows what happens on the floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.tui.pilot import signed_in, until
from tui.screens.dashboard import DashboardScreen
from tui.widgets.machine_tile import MachineTile


def tile_text(screen: DashboardScreen, code: str) -> str:
    for tile in screen.query(MachineTile):
        text = str(tile.render())
        if text.startswith(code):
            return text
    return ""


async def test_dashboard_shows_new_production_and_waiting_downtime(app_factory, world, api):
    app = app_factory(poll_seconds=0.3)
    machine = world.machines[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="dashboard")
        screen = app.screen
        await until(pilot, lambda: "✓0 ✗0" in tile_text(screen, machine["code"]), what="first poll")
        assert "NO SIGNAL" in tile_text(screen, machine["code"])
        assert "No stops" in str(screen.query_one("#alerts").render())

        r = api.post("/api/v1/production/entry", json={"machine_id": machine["id"], "good_quantity": 42},
                     headers=world.owner.headers)
        assert r.status_code == 201, r.text
        started = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
        r = api.post("/api/v1/downtime", json={"machine_id": machine["id"], "started_at": started, "planned": False},
                     headers=world.owner.headers)
        assert r.status_code == 201, r.text

        await until(pilot, lambda: "✓42 ✗0" in tile_text(screen, machine["code"]), what="new count")
        await until(pilot, lambda: "1 stop waiting" in str(screen.query_one("#alerts").render()), what="alert")
        assert "⚠1" in tile_text(screen, machine["code"])
        assert str(screen.query_one("#kpi-target .kpi-value").render()) == "42/–"
