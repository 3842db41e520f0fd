"""Planning assigns operators to a machine and shift (issue 21 item 3), through the real API."""

from __future__ import annotations

from textual.widgets import DataTable, SelectionList

from tests.tui.pilot import signed_in, until
from tui.screens.plan_forms import OperatorsForm
from tui.screens.planning import PlanningScreen
from tui.widgets.field_error import FieldError


async def open_operators(pilot, world, machine_id: str) -> DataTable:
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("4")
    await until(pilot, lambda: isinstance(pilot.app.screen, PlanningScreen), what="planning")
    screen = pilot.app.screen
    table = screen.query_one("#plans-table", DataTable)
    await until(pilot, lambda: table.row_count == 2 and screen.instance is not None and screen.operators,
                what="plans and operators")
    table.focus()
    table.move_cursor(row=table.get_row_index(machine_id))
    await pilot.press("o")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorsForm), what="operators form")
    return table


def plans_of(api, world, machine_id: str) -> list[dict]:
    r = api.get("/api/v1/production/plan", params={"machine_id": machine_id}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_planner_assigns_an_operator_to_a_machine_and_shift(app_factory, world, api):
    machine = world.machines[1]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_operators(pilot, world, machine["id"])
        picker = app.screen.query_one("#o-list", SelectionList)
        assert [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)] == [
            "Olga Owner", "Sam Staff"]
        await pilot.press("down", "space", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="form closed")
        await until(pilot, lambda: table.get_row(machine["id"])[4] == "Sam Staff", what="operator shown")
        assert table.get_row(machine["id"])[2] == "0"  # a plan made to hold the operators
    (plan,) = plans_of(api, world, machine["id"])
    assert plan["operator_ids"] == [world.operator.user_id] and plan["target_quantity"] == 0


async def test_a_refused_operator_keeps_the_dialog_open_with_the_reason_at_the_list(app_factory, world, api):
    machine = world.machines[0]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_operators(pilot, world, machine["id"])
        # Meanwhile an administrator takes Sam off the site: the server refuses the choice.
        r = api.delete(f"/api/v1/sites/{world.site['id']}/operators/{world.operator.user_id}",
                       headers=world.owner.headers)
        assert r.status_code == 204, r.text
        await pilot.press("down", "space", "ctrl+s")
        form = app.screen
        line = form.query_one("#o-list-error", FieldError)
        await until(pilot, lambda: line.display, what="refusal under the list")
        assert isinstance(app.screen, OperatorsForm)
        assert str(line.render()) == (
            "▲ Sam Staff: no longer an operator of this site. Untick, or ask an administrator.")
        assert form.query_one("#o-list").has_focus
    assert plans_of(api, world, machine["id"]) == []
