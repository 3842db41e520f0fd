"""Orders at the machine (issue 16), at 80×24 against the real server: the operator starts the
next operation from the queue, counts from the machine's PLC show as its progress, the operator
completes it with the final quantity; a scanned order number while another runs asks to pause
or complete that one; a machine the routing does not allow is refused at the field."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from tests.accounts import join
from tests.tui.order_plant import counted, order_of, queue_of, queued
from tests.tui.pilot import settle, signed_in, text_of, type_text, until
from tests.tui.test_floor_language import burst
from tui.screens.machine_run import RunScreen
from tui.screens.operator import OperatorScreen
from tui.screens.run_forms import CompleteForm, CurrentRunChoice
from tui.widgets.field_error import FieldError


async def run_screen(pilot, world, machine) -> RunScreen:
    """Sign in as the operator, choose the machine on the operator screen and open its orders (F4)."""
    await signed_in(pilot, world.operator.email, world.password)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.session.reference is not None, what="machines")
    screen.query_one("#machine-code", Input).focus()
    await type_text(pilot, machine["code"])
    await pilot.press("enter")
    await until(pilot, lambda: screen.machine is not None, what="machine chosen")
    await until(pilot, lambda: "F4" in text_of(pilot, "#op-run"), what="the machine's order line")
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(pilot.app.screen, RunScreen), what="orders at the machine")
    return pilot.app.screen


def panel(pilot) -> str:
    return text_of(pilot, "#run-panel")


async def test_start_the_next_operation_see_machine_counts_and_complete_it(app_factory, world, api, app_engine):
    press = world.machines[0]
    first, second = queued(app_engine, world.owner.tenant_id, press, 2)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        table = screen.query_one("#queue-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="the queue")
        assert "Nothing runs on PRESS-01" in panel(pilot)
        assert table.get_row_at(0)[1] == first["number"]

        await pilot.press("f2")  # the next operation: the queue's first
        await until(pilot, lambda: f"Running {first['number']}" in panel(pilot), what="running")
        assert "Good 0 / 50" in panel(pilot) and "in setup since" in panel(pilot)
        await until(pilot, lambda: table.row_count == 1, what="the started one leaves the queue")
        await pilot.press("f3")
        await until(pilot, lambda: "setup done" in panel(pilot), what="setup done")

        # The machine counts: the poller's sink stores a minute bucket; the screen's poll shows it.
        run = screen.run
        await counted(app_engine, world.owner.tenant_id, press, 12, 1, key="a", since=run.started_at)
        await until(pilot, lambda: "Good 12 / 50" in panel(pilot) and "scrap 1" in panel(pilot), what="counts")
        assert "Expected finish" in panel(pilot)

        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, CompleteForm), what="final quantity")
        form = app.screen
        assert (form.query_one("#final-good", Input).value, form.query_one("#final-scrap", Input).value) == ("12", "1")
        form.query_one("#final-good", Input).value = "11"  # one counted part was not good after all
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), what="back at the machine")
        await until(pilot, lambda: "Nothing runs" in panel(pilot), what="completed")
        assert f"Completed {first['number']}: 11 good, 1 scrap." in text_of(pilot, "#run-result")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="operator screen")
        await until(pilot, lambda: "Nothing runs on PRESS-01" in text_of(pilot, "#op-run"), what="line updated")
    order = order_of(api, world.owner, first["id"])
    assert order["status"] == "completed"
    assert [(o["status"], o["good"], o["scrap"]) for o in order["operations"]] == [("completed", 11, 1)]
    assert queue_of(api, world.owner, press) == second["operations"]


async def test_a_scan_while_another_runs_asks_to_pause_it(app_factory, world, api, app_engine):
    press = world.machines[0]
    first, second = queued(app_engine, world.owner.tenant_id, press, 2)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        await until(pilot, lambda: screen.query_one("#queue-table", DataTable).row_count == 2, what="the queue")
        await pilot.press("f2")
        await until(pilot, lambda: f"Running {first['number']}" in panel(pilot), what="first running")
        assert screen.query_one("#order-number", Input).has_focus

        await burst(pilot, second["number"].lower() + "\r")  # a scanner: fast keys, then Enter
        await until(pilot, lambda: isinstance(app.screen, CurrentRunChoice), what="pause or complete?")
        question = str(app.screen.query_one("#current-question").render())
        assert f"Pause or complete {first['number']}" in question and f"order {second['number'].lower()}" in question
        # Another scan now (letters and Enter) must not end anything: Enter lands on Cancel.
        await burst(pilot, "pc\r")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), what="cancelled")
        assert "keeps running; nothing started" in text_of(pilot, "#run-result")
        assert f"Running {first['number']}" in panel(pilot)
        await burst(pilot, second["number"] + "\r")
        await until(pilot, lambda: isinstance(app.screen, CurrentRunChoice), what="asked again")
        await pilot.press("f4")
        await until(pilot, lambda: f"Running {second['number']}" in panel(pilot), what="second running")
        assert f"{first['number']} paused" in text_of(pilot, "#run-result")
        assert screen.query_one("#order-number", Input).value == ""
    statuses = [order_of(api, world.owner, o["id"])["status"] for o in (first, second)]
    assert statuses == ["paused", "running"]


async def test_an_operation_of_another_machine_is_refused_at_the_order_field(app_factory, world, app_engine):
    press, lathe = world.machines
    (other,) = queued(app_engine, world.owner.tenant_id, lathe, 1,
                      allowed=[{"machine_id": lathe["id"], "cycle_seconds": "20", "parts_per_cycle": 1}])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        await settle(pilot)
        await burst(pilot, other["number"] + "\r")
        line = screen.query_one("#order-error", FieldError)
        await until(pilot, lambda: line.display, what="refusal at the field")
        assert str(line.render()) == "▲ PRESS-01 cannot run this operation; it runs on LATHE-02."
        assert screen.run is None
        assert screen.query_one("#order-number", Input).selected_text == other["number"]
        await burst(pilot, "NO-SUCH-ORDER\r")  # the next scan replaces the refused number
        await until(pilot, lambda: "No order has this number" in str(line.render()), what="unknown order")
        assert screen.query_one("#order-number", Input).value == "NO-SUCH-ORDER"


async def test_run_keys_need_production_entry(app_factory, world, api):
    """Read-only members may look at a machine's orders, without the keys to change them."""
    from factoryos.client.models import MachineOut

    viewer = join(api, world.owner, "read_only")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, viewer.email, world.password)
        screen = RunScreen(MachineOut.model_validate(world.machines[0]))
        await app.push_screen(screen)
        await settle(pilot)
        assert [screen.check_action(a, ()) for a in ("start", "setup_done", "pause", "complete")] == [False] * 4
        footer = {b.binding.description for b in screen.active_bindings.values()
                  if b.binding.show and screen.check_action(b.binding.action, ())}
        assert "Back" in footer and not footer & {"Start", "Setup done", "Pause", "Complete"}


async def test_pausing_asks_why_and_keeps_the_reason(app_factory, world, api, app_engine):
    from tui.screens.reason_form import ReasonForm

    press = world.machines[0]
    (first,) = queued(app_engine, world.owner.tenant_id, press, 1)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_screen(pilot, world, press)
        await until(pilot, lambda: screen.query_one("#queue-table", DataTable).row_count == 1, what="the queue")
        await pilot.press("f2")
        await until(pilot, lambda: f"Running {first['number']}" in panel(pilot), what="running")
        # Esc in the question leaves it running.
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="why pause?")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunScreen), what="back")
        assert order_of(api, world.owner, first["id"])["status"] == "running"
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="why pause? again")
        await type_text(pilot, "Tool change")
        await pilot.press("enter")
        await until(pilot, lambda: "Nothing runs" in panel(pilot), what="paused")
        assert f"Paused {first['number']}" in text_of(pilot, "#run-result")
    assert order_of(api, world.owner, first["id"])["status"] == "paused"
    r = api.get("/api/v1/audit", params={"entity": "operation_run"}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    assert any("Tool change" in str(e.get("after")) for e in r.json()["items"]), r.json()["items"][:3]
