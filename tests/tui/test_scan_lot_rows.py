"""Each scan's row at the machine says what it did within its column at 80 columns (lot and item
have their own columns), loaded for the order or used at once (Pilot, the real server)."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.materials.tui.test_scan_tui import _running_order, scanner
from tests.tui.pilot import fill, settle, text_of, until
from tests.tui.test_floor_language import operator_screen
from tests.tui.test_operator_fit import choose_machine, screen_text
from tui.screens.scan_lot import ScanLotScreen


async def test_a_scans_row_shows_what_it_did_whole(app_factory, world, api, app_engine):
    order = _running_order(api, world, app_engine)
    press = world.machines[0]
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        op = await operator_screen(pilot, world)
        await choose_machine(pilot, op, press["code"])
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, ScanLotScreen), what="material screen")
        screen = app.screen
        await until(pilot, lambda: f"Running {order['job_number']}" in text_of(pilot, "#scan-order"), what="order")
        table = screen.query_one("#scan-table", DataTable)
        await scanner(pilot, "S-100\r")
        await until(pilot, lambda: table.row_count == 1, what="the scan's row")
        await fill(pilot, "#scan-qty", "5")
        screen.query_one("#lot-code", Input).focus()
        await scanner(pilot, "S-100\r")
        await until(pilot, lambda: table.row_count == 2, what="the second scan's row")
        await settle(pilot)
        rows = [line for line in screen_text(pilot).splitlines() if "S-100" in line and "RM-STEEL" in line]
        assert rows[0].rstrip().endswith(f"loaded for {order['job_number']}"), rows
        assert rows[1].rstrip().endswith("used 5 kg"), rows
