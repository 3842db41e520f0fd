"""Machines and planning screens write through the real API."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.tui.pilot import fill, open_target_form, signed_in, until
from tui.screens.machine_form import MachineForm
from tui.screens.machines import MachinesScreen
from tui.screens.planning import PlanningScreen
from tui.status_mapping import parse_mapping


def test_status_mapping_text_round_trip():
    assert parse_mapping("1=running, 2=idle 7=setup default=planned_stop") == {
        "codes": {"1": "running", "2": "idle", "7": "setup"}, "default": "planned_stop"}


async def test_create_a_machine_with_status_mapping(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        table = app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="machines listed")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MachineForm), what="form")
        await fill(pilot, "#m-code", "MILL-07")
        await fill(pilot, "#m-name", "Mill seven")
        await fill(pilot, "#m-cycle", "45")
        await fill(pilot, "#m-mapping", "1=running 2=idle 3=setup")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")
        await until(pilot, lambda: table.row_count == 3, what="machine listed")
    machines = api.get("/api/v1/machines", params={"q": "MILL-07"}, headers=world.owner.headers).json()["items"]
    (machine,) = machines
    assert machine["ideal_cycle_seconds"] == 45
    assert machine["status_mapping"] == {"codes": {"1": "running", "2": "idle", "3": "setup"},
                                         "default": "unplanned_stop"}


async def test_set_a_target_for_the_running_shift(app_factory, world, api):
    app = app_factory()
    machine = world.machines[1]
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_target_form(pilot, world.owner.email, world.password, machine["id"])
        await fill(pilot, "#t-target", "120")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="form closed")
        await until(pilot, lambda: table.row_count == 2 and table.get_row(machine["id"])[2] == "120",
                    what="target shown")
    plans = api.get("/api/v1/production/plan", params={"machine_id": machine["id"]},
                    headers=world.owner.headers).json()["items"]
    assert [p["target_quantity"] for p in plans] == [120]
