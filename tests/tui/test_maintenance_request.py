"""F12 at a machine that runs (no stop to link): the operator says what is wrong before a request
is raised, so maintenance reads more than the machine's code and a slip of the key raises
nothing (80×24, the real server)."""

from __future__ import annotations

from tests.tui.pilot import settle, text_of, type_text, until
from tests.tui.test_floor_language import operator_screen
from tests.tui.test_operator_fit import choose_machine
from tui.screens.operator import OperatorScreen
from tui.screens.reason_form import ReasonForm

ORDERS = "/api/v1/maintenance/work-orders"


def work_orders(api, world) -> list[dict]:
    r = api.get(ORDERS, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_f12_at_a_running_machine_asks_what_is_wrong(app_factory, world, api):
    press = world.machines[0]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await operator_screen(pilot, world)
        await choose_machine(pilot, screen, press["code"])
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="what is wrong?")
        await pilot.press("escape")  # pressed by mistake: nothing raised
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="back")
        await settle(pilot)
        assert work_orders(api, world) == []

        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="what is wrong?")
        await pilot.press("enter")  # nothing said yet: asked again at the field
        await settle(pilot)
        assert "Say what is wrong" in text_of(pilot, "#o-reason-error")
        await type_text(pilot, "Coolant leak at the door")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="raised")
        await until(pilot, lambda: "Maintenance request" in text_of(pilot, "#op-result"), what="the result")
        assert "WO-00001 raised: waits for approval." in text_of(pilot, "#op-result")
    [wo] = work_orders(api, world)
    assert (wo["kind"], wo["title"]) == ("request", f"{press['code']}: Coolant leak at the door")
