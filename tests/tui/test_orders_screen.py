"""The Orders screen (issue 16) at 80×24 against the real server: list, search, status filter,
an order's operations with their progress; a planner reorders a machine's queue with the
keyboard and saves it; members without production.plan get no reorder keys."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import DataTable, Select

from tests.tui.order_plant import counted, order_of, queue_of, queued
from tests.tui.pilot import fill, settle, signed_in, text_of, until
from tui.screens.machine_queue import QueueScreen
from tui.screens.orders import OrdersScreen


async def orders_screen(pilot, email: str, password: str) -> OrdersScreen:
    await signed_in(pilot, email, password)
    await pilot.press("8")
    await until(pilot, lambda: isinstance(pilot.app.screen, OrdersScreen), what="orders screen")
    return pilot.app.screen


async def test_list_search_filter_and_an_orders_progress(app_factory, world, api, app_engine):
    press = world.machines[0]
    # An ERP name with brackets: shown as typed, not read as markup.
    first, second, third = queued(app_engine, world.owner.tenant_id, press, 3, quantity=40, product="Bracket [rev B]")
    r = api.post(f"/api/v1/machines/{press['id']}/run", json={"operation_id": second["operations"][0]},
                 headers=world.operator.headers)
    assert r.status_code == 201, r.text
    await counted(app_engine, world.owner.tenant_id, press, 10, 2, key="o",
                  since=datetime.fromisoformat(r.json()["run"]["started_at"]))
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.operator.email, world.password)
        table = screen.query_one("#orders-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="orders listed")

        await fill(pilot, "#orders-search", second["number"])
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 1, what="search")
        await until(pilot, lambda: screen.order is not None and screen.order.job_number == second["number"],
                    what="detail")
        ops = screen.query_one("#ops-table", DataTable)
        await until(pilot, lambda: ops.row_count == 1, what="operations")
        assert ops.get_row_at(0) == ["10", "Turning", "PRESS-01", "running", "10/40 25%", "2"]
        assert text_of(pilot, "#order-detail").startswith(f"{second['number']} · Bracket [rev B] · 10/40 good")
        assert "Bracket [rev B]" in str(table.get_row_at(0)[1]).replace("\\[", "[")

        await fill(pilot, "#orders-search", "")
        screen.query_one("#orders-status", Select).value = "running"
        await until(pilot, lambda: table.row_count == 1 and table.get_row_at(0)[0] == second["number"],
                    what="status filter")
        screen.query_one("#orders-status", Select).value = "completed"
        await until(pilot, lambda: table.row_count == 0, what="nothing completed")
        assert "No order matches" in text_of(pilot, "#order-detail")
        # An operator opens the queue but cannot reorder it.
        screen.query_one("#orders-status", Select).clear()
        await until(pilot, lambda: table.row_count == 3 and screen.order is not None, what="all again")
        table.focus()
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="queue")
        queue = app.screen
        await until(pilot, lambda: queue.query_one("#queue-table", DataTable).row_count == 2, what="queued")
        assert queue.check_action("move", (1,)) is False and queue.check_action("save", ()) is False
        await pilot.press("ctrl+down", "ctrl+s")
        await settle(pilot)
        assert [str(i.operation_id) for i in queue.items] == [first["operations"][0], third["operations"][0]]
    assert order_of(api, world.owner, second["id"])["status"] == "running"


async def test_a_planner_reorders_a_machines_queue(app_factory, world, api, app_engine):
    press = world.machines[0]
    orders = queued(app_engine, world.owner.tenant_id, press, 3)
    ops = [o["operations"][0] for o in orders]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.owner.email, world.password)
        table = screen.query_one("#orders-table", DataTable)
        await until(pilot, lambda: table.row_count == 3 and screen.order is not None, what="orders")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="queue")
        queue = app.screen
        rows = queue.query_one("#queue-table", DataTable)
        await until(pilot, lambda: rows.row_count == 3, what="queued")
        assert [rows.get_row_at(i)[1] for i in range(3)] == [o["number"] for o in orders]
        # The first goes last: two moves down, then save.
        await pilot.press("ctrl+down", "ctrl+down")
        assert [rows.get_row_at(i)[1] for i in range(3)] == [orders[1]["number"], orders[2]["number"],
                                                              orders[0]["number"]]
        assert rows.cursor_row == 2 and queue.dirty
        assert queue_of(api, world.owner, press) == ops  # nothing saved yet
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Queue saved" in text_of(pilot, "#queue-result"), what="saved")
        assert not queue.dirty
        # Shift+↑ where a terminal sends no Ctrl with arrows: the last one up by one, saved.
        await pilot.press("shift+up", "ctrl+s")
        await until(pilot, lambda: queue_of(api, world.owner, press) == [ops[1], ops[0], ops[2]], what="saved again")
    assert queue_of(api, world.owner, press) == [ops[1], ops[0], ops[2]]


async def test_a_planner_dispatches_an_operation_to_a_machine_its_routing_allows(app_factory, world, api, app_engine):
    from tests.orders import runs_plant
    from tui.screens.dispatch_form import DispatchForm

    press, lathe = world.machines
    order = runs_plant.order(app_engine, world.owner.tenant_id, [
        {"name": "Turning", "allowed": [runs_plant.allowed(press, "12"), runs_plant.allowed(lathe, "20", 2)]}])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.owner.email, world.password)
        await until(pilot, lambda: screen.order is not None and str(screen.order.id) == order["id"],
                    what="the order")
        assert screen.query_one("#ops-table", DataTable).get_row_at(0)[2] == "–"  # on no machine yet
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, DispatchForm), what="machine picker")
        options = app.screen.query_one("#d-machines")
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == [
            f"{press['code']} · 12 s per cycle, 1 part", f"{lathe['code']} · 20 s per cycle, 2 parts"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, OrdersScreen), what="picker closed")
        ops = screen.query_one("#ops-table", DataTable)
        await until(pilot, lambda: ops.get_row_at(0)[2] == lathe["code"], what="dispatched")
    assert queue_of(api, world.owner, lathe) == order["operations"]


async def test_operators_get_no_dispatch_key(app_factory, world, app_engine):
    queued(app_engine, world.owner.tenant_id, world.machines[0], 1)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.operator.email, world.password)
        await until(pilot, lambda: screen.order is not None, what="the order")
        assert screen.check_action("dispatch", ()) is False and screen.check_action("queue", ()) is True
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, OrdersScreen)


async def test_a_planner_releases_and_cancels_orders_with_the_keyboard(app_factory, world, api, app_engine):
    from tests.orders import runs_plant
    from tui.screens.reason_form import ReasonForm

    planned = runs_plant.order(app_engine, world.owner.tenant_id, [{"name": "Turning"}], status="planned")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.owner.email, world.password)
        await until(pilot, lambda: screen.order is not None and str(screen.order.id) == planned["id"],
                    what="the order")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="release dialog")
        await pilot.press("enter")  # no reason needed to release
        await until(pilot, lambda: isinstance(app.screen, OrdersScreen), what="dialog closed")
        await until(pilot, lambda: screen.order is not None and screen.order.status == "released", what="released")
        # Cancelling needs a reason: refused at the field, then taken.
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, ReasonForm), what="cancel dialog")
        form = app.screen
        await pilot.press("enter")
        await until(pilot, lambda: "Say why" in text_of(pilot, "#o-reason-error"), what="reason asked")
        assert order_of(api, world.owner, planned["id"])["status"] == "released"
        await fill(pilot, "#o-reason", "Customer withdrew the order")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not form, what="cancelled")
        await until(pilot, lambda: screen.order is not None and screen.order.status == "cancelled", what="shown")
        # A cancelled order is not cancelled twice nor released: said under the operations.
        await pilot.press("f7")
        await until(pilot, lambda: "already cancelled" in text_of(pilot, "#ops-error"), what="refused")
        assert isinstance(app.screen, OrdersScreen)
    assert order_of(api, world.owner, planned["id"])["status"] == "cancelled"
    r = api.get("/api/v1/audit", params={"entity_id": planned["id"]}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    reasons = [str(e.get("after")) for e in r.json()["items"]]
    assert any("Customer withdrew the order" in a for a in reasons), reasons


async def test_operators_get_no_release_or_cancel_key(app_factory, world, app_engine):
    queued(app_engine, world.owner.tenant_id, world.machines[0], 1)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await orders_screen(pilot, world.operator.email, world.password)
        await until(pilot, lambda: screen.order is not None, what="the order")
        assert screen.check_action("release", ()) is False and screen.check_action("cancel_order", ()) is False
