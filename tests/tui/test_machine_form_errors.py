"""The machine form keeps what was typed when the server refuses it, and says why at the field."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.tui.pilot import fill, signed_in, text_of, until
from tui.screens.machine_form import MachineForm
from tui.screens.machines import MachinesScreen


async def test_a_code_already_taken_is_said_under_the_code_and_nothing_typed_is_lost(app_factory, world, api):
    taken = world.machines[0]["code"]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        table = app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="machines listed")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MachineForm), what="form")
        form = app.screen
        await fill(pilot, "#m-code", taken)
        await fill(pilot, "#m-name", "Second press")
        await fill(pilot, "#m-cycle", "12")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "already exists" in text_of(pilot, "#m-code-error"), what="refusal at the code")
        assert app.screen is form
        assert form.query_one("#m-name", Input).value == "Second press"
        assert form.query_one("#m-cycle", Input).value == "12"
        assert app.focused is form.query_one("#m-code", Input)

        await fill(pilot, "#m-code", "PRESS-09")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")
        await until(pilot, lambda: table.row_count == 3, what="machine listed")
    found = api.get("/api/v1/machines", params={"q": "PRESS-09"}, headers=world.owner.headers).json()["items"]
    assert [m["name"] for m in found] == ["Second press"]


async def test_a_bad_status_mapping_is_said_under_the_mapping(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, MachineForm), what="form")
        await fill(pilot, "#m-code", "PRESS-10")
        await fill(pilot, "#m-name", "Tenth press")
        await fill(pilot, "#m-mapping", "1=spinning")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "code=state" in text_of(pilot, "#m-mapping-error"), what="refusal at the mapping")
        assert isinstance(app.screen, MachineForm)
