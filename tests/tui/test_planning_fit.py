"""Planning at 80×24: long machine names that differ only at their end still tell their rows apart (an
ellipsis in the middle, the end kept) and nothing runs past the terminal's edge; its forms show their
buttons whole."""

from __future__ import annotations

import os

from textual.widgets import DataTable

from tests.accounts import PASSWORD, new_company
from tests.production import plant
from tests.tui.pilot import open_target_form, settle, signed_in, until
from tui.screens.plan_forms import ShiftForm
from tui.screens.planning import PlanningScreen

LONG = [("IMM-250-L", "Injection moulding press 250 t, hall B, left"),
        ("IMM-250-R", "Injection moulding press 250 t, hall B, right"),
        ("CNC-5AX-0001", "5-axis machining centre DMU 65 monoBLOCK")]


async def test_long_machine_names_stay_apart_at_80_columns(app_factory, api) -> None:
    owner = new_company(api, "UTC")
    site = plant.site(api, owner, timezone="UTC", name="Main plant")
    for code, name in LONG:
        plant.machine(api, owner, site["id"], code=code, name=name)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="planning")
        table = app.screen.query_one("#plans-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="plans")
        await settle(pilot)
        rows = [table.get_row_at(i)[:2] for i in range(table.row_count)]
        assert rows == [["CNC-5AX-0001", "5-axis machining centre …"], ["IMM-250-L", "Injection mo…hall B, left"],
                        ["IMM-250-R", "Injection mo…all B, right"]]
        assert table.virtual_size.width <= table.content_region.width  # nothing past the right edge
        shot = os.environ.get("PLANNING_SHOT")  # an SVG to look at
        if shot:
            app.save_screenshot(shot)
        # A wide terminal has room for the whole names.
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == [name for _, name in sorted(LONG)]
        assert table.virtual_size.width <= table.content_region.width


def _whole_on_screen(pilot, selector: str) -> bool:
    screen = pilot.app.screen
    widget = screen.query_one(selector)
    region, room = widget.region, screen.region
    return widget.display and region.height == widget.outer_size.height and room.contains_region(region) \
        and region.bottom < room.bottom  # above the footer


async def test_the_planning_forms_show_their_buttons_at_80x24(app_factory, world) -> None:
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_target_form(pilot, world.owner.email, world.password, world.machines[0]["id"])
        await settle(pilot)
        assert _whole_on_screen(pilot, "#save") and _whole_on_screen(pilot, "#cancel")
        assert "Save" in [b.binding.description for b in app.screen.active_bindings.values() if b.binding.show]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="planning again")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShiftForm), what="shift form")
        await settle(pilot)
        for selector in ("#s-name", "#s-start", "#s-end", "#s-days", "#save", "#cancel"):
            assert _whole_on_screen(pilot, selector), selector
