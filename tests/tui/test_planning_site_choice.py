"""Planning keeps showing which site its plans belong to."""

from __future__ import annotations

from textual.widgets import DataTable, Select

from tests.tui.pilot import signed_in, until
from tui.screens.planning import PlanningScreen


async def test_the_blank_site_entry_keeps_the_site_whose_plans_are_shown(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="planning")
        screen = app.screen
        table = screen.query_one("#plans-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="plans")
        select = screen.query_one("#plan-site", Select)
        select.focus()
        await pilot.press("enter", "up", "enter")  # the list's first entry is blank ("loading…")
        await pilot.pause()
        assert str(select.value) == world.site["id"]
        assert "Main plant" in str(select.query_one("SelectCurrent Static#label").render())
