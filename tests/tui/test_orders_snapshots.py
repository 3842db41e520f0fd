"""SVG snapshots of the execution screens at 80×24 and 120×40: Orders, a machine's queue, and
the orders at the machine with one running. Fixed order numbers and no shifts (so no planned
times); the running operation's clock times are pinned before the picture is taken."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from textual.widgets import DataTable, Input, Static

from tests.accounts import PASSWORD, join, new_company
from tests.production import plant
from tests.tui.order_plant import queued
from tests.tui.pilot import settle, signed_in, until
from tests.tui.test_snapshots import still
from tui.app import make_app
from tui.screens.machine_queue import QueueScreen
from tui.screens.machine_run import RunScreen
from tui.screens.operator import OperatorScreen
from tui.screens.orders import OrdersScreen

# The floor's 80×24 in the fast suite; the larger terminal too in the full run (`slow`).
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40", marks=pytest.mark.slow)]


@dataclass(frozen=True)
class OrdersPlant:
    owner_email: str
    operator_email: str


@pytest.fixture(scope="module")
def orders_plant(api: httpx.Client, app_engine) -> OrdersPlant:
    owner = new_company(api, "UTC", email="snap-orders-owner@example.com", name="Snapshot Works")
    site = plant.site(api, owner, timezone="UTC", name="Main plant", code="MAIN")
    press = plant.machine(api, owner, site["id"], cycle=30, code="PRESS-01", name="Press 1")
    lathe = plant.machine(api, owner, site["id"], cycle=45, code="LATHE-01", name="Lathe")
    operator = join(api, owner, "operator", email="snap-orders-operator@example.com")
    plant.operator(api, owner, site["id"], operator.user_id)
    queued(app_engine, owner.tenant_id, press, 3, quantity=120, product="Bracket B-200",
           numbers=["MO-1001", "MO-1002", "MO-1003"])
    (running, _) = queued(app_engine, owner.tenant_id, lathe, 2, quantity=80, product="Shaft S-10",
                          numbers=["MO-2001", "MO-2002"])
    r = api.post(f"/api/v1/machines/{lathe['id']}/run", json={"operation_id": running["operations"][0]},
                 headers=operator.headers)
    assert r.status_code == 201, r.text
    return OrdersPlant(owner.email, operator.email)


@pytest.fixture()
def snap_app(tmp_path, live_server):
    return lambda: make_app(server=live_server.url, config_path=tmp_path / "client.json",
                            outbox_dir=tmp_path / "outbox")


async def open_orders(pilot, email: str) -> OrdersScreen:
    await signed_in(pilot, email, PASSWORD)
    await pilot.press("8")
    await until(pilot, lambda: isinstance(pilot.app.screen, OrdersScreen), what="orders")
    screen = pilot.app.screen
    table = screen.query_one("#orders-table", DataTable)
    await until(pilot, lambda: table.row_count == 5 and screen.order is not None, what="orders listed")
    return screen


@pytest.mark.parametrize("size", SIZES)
def test_orders(snap_compare, snap_app, orders_plant, size):
    async def before(pilot):
        screen = await open_orders(pilot, orders_plant.owner_email)
        ops = screen.query_one("#ops-table", DataTable)
        await until(pilot, lambda: ops.row_count == 1, what="operations")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_machine_queue(snap_compare, snap_app, orders_plant, size):
    async def before(pilot):
        screen = await open_orders(pilot, orders_plant.owner_email)
        table = screen.query_one("#orders-table", DataTable)
        table.move_cursor(row=next(i for i in range(5) if table.get_row_at(i)[0] == "MO-1001"))
        await until(pilot, lambda: screen.order.job_number == "MO-1001", what="MO-1001")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(pilot.app.screen, QueueScreen), what="queue")
        queue = pilot.app.screen
        await until(pilot, lambda: queue.query_one("#queue-table", DataTable).row_count == 3, what="queued")
        await pilot.press("ctrl+down")  # one move, not saved: the picture shows the mark
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_machine_run(snap_compare, snap_app, orders_plant, size):
    async def before(pilot):
        await signed_in(pilot, orders_plant.operator_email, PASSWORD)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator")
        screen = pilot.app.screen
        await until(pilot, lambda: screen.session.reference is not None, what="machines")
        await pilot.press(*"lathe-01", "enter")
        await until(pilot, lambda: screen.machine is not None, what="machine")
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(pilot.app.screen, RunScreen), what="run screen")
        run = pilot.app.screen
        await until(pilot, lambda: run.run is not None and run.queue, what="running and queued")
        run.on_screen_suspend()  # no further polls: they would rewrite the pinned times
        await settle(pilot)
        panel = run.query_one("#run-panel", Static)
        panel.update(re.sub(r"(?:[A-Z][a-z]{2} )?\d\d:\d\d", "hh:mm", run.panel_text))
        run.query_one("#order-number", Input).focus()
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)
