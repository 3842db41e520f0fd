"""Scanning lots at the terminal (Pilot, 80×24, against the real server): a GS1 label arrives as a
scanner's burst of keys with the group separator and Enter; a lot of the wrong item is refused
under the field in operator words; F6 makes the finished lot linked to what was loaded."""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Input

from tests.materials import materials_support as ms
from tests.orders import order_support
from tests.tui.pilot import settle, signed_in, text_of, type_text, until
from tui.screens.operator import OperatorScreen
from tui.screens.scan_lot import LotScanInput, ScanLotScreen

GTIN = "09506000134352"


async def scanner(pilot, text: str) -> None:
    """Keys as a barcode scanner sends them: all at once, GS as Ctrl+], then Enter."""
    driver = pilot.app._driver  # noqa: SLF001
    for char in text:
        if char == "\x1d":
            event = events.Key("ctrl+right_square_bracket", "\x1d")
        elif char == "\r":
            event = events.Key("enter", "\r")
        else:
            event = events.Key("minus" if char == "-" else char, char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await settle(pilot)


def _running_order(api, world, app_engine):
    owner, press = world.owner, world.machines[0]
    steel = ms.item(api, owner, number="RM-STEEL", unit="kg", gtin=GTIN)
    brass = ms.item(api, owner, number="RM-BRASS", name="Brass", unit="kg")
    hsg = order_support.product(app_engine, owner.tenant_id, [(10, "Press", [(press["id"], "1", 1)])],
                                number="HSG-100", name="Housing")
    ms.bom(api, owner, hsg["id"], [(steel["id"], "2", "0")])
    wh = ms.warehouse(api, owner, world.site["id"])
    lots = [ms.lot(api, owner, steel["id"], number="S-100", supplier="Acme"), ms.lot(api, owner, brass["id"],
                                                                                  number="B-7")]
    for lot in lots:
        ms.receive(api, owner, lot["item_id"], lot["id"], "100", wh["id"])
    order = order_support.create(api, owner, product_id=hsg["id"], product="Housing", quantity=20)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    ms.ok(api.post(f"/api/v1/machines/{press['id']}/run", json={"operation_id": order["operations"][0]["id"]},
                   headers=owner.headers), 201)
    return order


async def test_scan_burst_loads_the_lot_refuses_the_wrong_one_and_makes_the_finished_lot(
        app_factory, world, api, app_engine, tmp_path):
    order = _running_order(api, world, app_engine)
    press = world.machines[0]
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
        op = pilot.app.screen
        await until(pilot, lambda: op.session.reference is not None, what="machines")
        op.query_one("#machine-code", Input).focus()
        await type_text(pilot, press["code"])
        await pilot.press("enter")
        await until(pilot, lambda: op.machine is not None, what="machine chosen")
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(pilot.app.screen, ScanLotScreen), what="material screen")
        screen = pilot.app.screen
        await until(pilot, lambda: f"Running {order['job_number']}" in text_of(pilot, "#scan-order"), what="order")
        assert isinstance(screen.focused, LotScanInput)

        # The label: GTIN, lot, a group separator, then an identifier the terminal only shows.
        await scanner(pilot, f"01{GTIN}10S-100\x1d240PART-9\r")
        table = screen.query_one("#scan-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, what="the scan's row")
        assert table.get_row_at(0)[1:3] == ["S-100", "RM-STEEL"]
        result = text_of(pilot, "#scan-result")
        assert f"RM-STEEL lot S-100 loaded for {order['job_number']}" in result and "(240) PART-9" in result
        assert screen.query_one("#lot-code", Input).value == ""

        # The wrong material: refused under the field, the field selected for the next scan.
        await scanner(pilot, "B-7\r")
        await until(pilot, lambda: "Wrong material" in text_of(pilot, "#lot-error"), what="refusal")
        assert "RM-BRASS" in text_of(pilot, "#lot-error") and "RM-STEEL" in text_of(pilot, "#lot-error")
        assert screen.query_one("#lot-code", Input).has_class("-invalid")
        pilot.app.save_screenshot("scan_lot.svg", path=str(tmp_path))

        # The machine completes: that made the finished lot, linked to the loaded steel (backflushed by BOM);
        # F6 then finds no good part left to put in a lot.
        ms.ok(api.post(f"/api/v1/machines/{press['id']}/run/complete", json={"final_good": 20},
                       headers=world.owner.headers))
        made = ms.made_by(api, world.owner, order["id"], order["operations"][0]["id"], [])
        assert (made["lot"]["quantity"], made["consumed"]) == ("20", {"S-100": "40"})
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "made when it completes" in text_of(pilot, "#scan-order"), what="idle line")
        await pilot.press("f6")
        await until(pilot, lambda: "No good parts yet" in text_of(pilot, "#lot-error"), what="nothing left")
    fwd = ms.trace(api, world.owner, "forward", "S-100")
    assert [n["level"] for n in fwd["nodes"]] == [0, 1] and fwd["orders"] == [order["job_number"]]


async def test_trace_tree_both_ways(app_factory, world, api, app_engine, tmp_path):
    from textual.widgets import Tree

    from tui.screens.materials_trace import TraceScreen

    order = _running_order(api, world, app_engine)
    press = world.machines[0]
    ms.ok(ms.scan(api, world.owner, press, code="S-100"), 201)
    ms.ok(api.post(f"/api/v1/machines/{press['id']}/run/complete", json={"final_good": 20},
                   headers=world.owner.headers))
    made = ms.made_by(api, world.owner, order["id"], order["operations"][0]["id"], [])["lot"]["number"]
    steel = ms.ok(api.get(f"{ms.M}/lots", params={"number": "S-100"}, headers=world.owner.headers))["items"][0]
    nc = ms.ok(api.post("/api/v1/nonconformances", headers=world.owner.headers, json={
        "machine_id": press["id"], "lot_id": steel["id"], "quantity": 3, "description": "Scale on the sheet"}), 201)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, TraceScreen), what="trace screen")
        await scanner(pilot, made + "\r")
        tree = pilot.app.screen.query_one("#trace-tree", Tree)
        await until(pilot, lambda: len(tree.root.children) == 1, what="the tree")
        top = tree.root.children[0]
        assert str(top.label).startswith(f"{made} HSG-100") and order["job_number"] in str(top.label)
        assert [str(c.label) for c in top.children] == [
            "S-100 RM-STEEL · 40 kg used · Acme · by Olga Owner"]  # in its unit; who loaded it
        # The NC naming the steel lot hangs under it, in the operator's words.
        assert [str(c.label) for c in top.children[0].children] == [
            f"{nc['code']} [OPEN] 3 · Scale on the sheet"]
        assert "1 lot went into" in text_of(pilot, "#trace-summary")
        assert text_of(pilot, "#trace-summary").splitlines()[-1] == (
            "1 supplier · 1 order · 1 machine · 1 operator · 0 inspections · 1 NC")
        pilot.app.save_screenshot("trace_backward.svg", path=str(tmp_path))
        await pilot.press("f3")  # forward from the finished lot: nothing made from it yet
        await until(pilot, lambda: "made from" in text_of(pilot, "#trace-summary"), what="forward")
        pilot.app.save_screenshot("trace.svg", path=str(tmp_path))
        pilot.app.screen.query_one("#trace-lot", Input).value = "S-100"
        await pilot.press("f3")
        await until(pilot, lambda: "1 lot made from S-100" in text_of(pilot, "#trace-summary"), what="fwd")
        under = [str(c.label) for c in tree.root.children[0].children]  # the lot's NC first, then what was made
        assert under[0].startswith(nc["code"]) and under[1].startswith(made) and len(under) == 2
        assert " · 40 kg used · " in under[1]  # forward, the link is in the input's (steel's) unit
