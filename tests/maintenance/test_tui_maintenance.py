"""The maintenance screens at 80×24 against the real server: one key at the operator screen
raises a corrective request for the stopped machine; the Maintenance screen lists what is due
and the open orders, and a work order is ticked, started and finished with the keyboard."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from textual.widgets import DataTable, Input

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.maintenance import support as s
from tests.tui.pilot import settle, signed_in, text_of, type_text, until
from tui.screens.confirm import Confirm
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.maintenance_order import WorkOrderScreen
from tui.screens.maintenance_reliability import ReliabilityScreen
from tui.screens.operator import OperatorScreen

SHOTS = os.environ.get("MAINTENANCE_SCREENSHOTS")  # a directory: save what the screens look like


async def test_f12_at_a_stopped_machine_raises_a_corrective_request(app_factory, world, api, app_engine) -> None:
    press = world.machines[0]
    s.states(app_engine, world.owner, press["id"], ("running", s.ago(hours=1)), ("unplanned_stop", s.ago(minutes=20)))
    tenant = uuid.UUID(world.owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        flag_overdue_stops(conn, tenant, s.now())
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, OperatorScreen), what="operator screen")
        screen = app.screen
        await until(pilot, lambda: screen.session.reference is not None, what="machines")
        screen.query_one("#machine-code", Input).focus()
        await type_text(pilot, press["code"])
        await pilot.press("enter")
        await until(pilot, lambda: screen.machine is not None, what="machine chosen")
        await pilot.press("f12")
        await until(pilot, lambda: "Maintenance request" in text_of(pilot, "#op-result"), what="request raised")
        line = text_of(pilot, "#op-result")
        assert "WO-00001 for this stop raised: waits for approval." in line, line
        await pilot.press("f12")  # twice: the stop already has its order
        await until(pilot, lambda: "already knows" in text_of(pilot, "#op-result"), what="second press")
    [stop] = s.ok(api.get("/api/v1/downtime", headers=world.owner.headers, params={"machine_id": press["id"]}))["items"]
    [wo] = s.ok(api.get(f"{s.BASE}/work-orders", headers=world.owner.headers))["items"]
    assert (wo["kind"], wo["status"], wo["downtime_id"], wo["requested_by"]) == \
        ("corrective", "requested", stop["id"], world.operator.user_id)
    assert wo["title"].startswith(f"{press['code']} stopped since ")


async def test_the_maintenance_screen_ticks_starts_and_finishes_a_work_order(app_factory, world, api) -> None:
    press = world.machines[0]
    asset = s.machine_asset(api, world.owner, press["id"])
    s.plan(api, world.owner, asset["id"], name="Weekly lubrication", every_days=7,
           last_done_at=s.ago(days=8).isoformat(), checklist=[{"task": "Grease the guides"},
                                                            {"task": "Top up the oil"}])
    app = app_factory(poll_seconds=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("9")
        await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen), what="maintenance screen")
        orders = app.screen.query_one("#mt-orders", DataTable)
        await until(pilot, lambda: orders.row_count == 1, what="the generated work order")
        due = app.screen.query_one("#mt-due", DataTable)
        assert due.row_count == 1 and due.get_row_at(0)[1:3] == ["Weekly lubrication", "due"]
        assert orders.get_row_at(0)[0] == "WO-00001" and orders.get_row_at(0)[3] == "approved"
        if SHOTS:
            app.save_screenshot("maintenance-list.svg", path=SHOTS)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WorkOrderScreen), what="work order")
        screen = app.screen
        checklist = screen.query_one("#wo-checklist", DataTable)
        await until(pilot, lambda: checklist.row_count == 2, what="checklist")
        await pilot.press("space")
        await settle(pilot)
        await until(pilot, lambda: checklist.get_row_at(0)[0] == "✓", what="ticked")
        await pilot.press("f6")
        await until(pilot, lambda: "started" in text_of(pilot, "#wo-result"), what="started")
        if SHOTS:
            app.save_screenshot("maintenance-order.svg", path=SHOTS)
        screen.query_one("#wo-labour", Input).value = "20"
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="confirm")
        await pilot.press("y")
        await until(pilot, lambda: "done" in text_of(pilot, "#wo-result"), what="done")
        assert "WO-00001 done." in text_of(pilot, "#wo-result")
        await pilot.press("f6")  # started twice: refused, said where
        await until(pilot, lambda: "can no longer be changed" in text_of(pilot, "#wo-result"), what="refused")
    [wo] = s.ok(api.get(f"{s.BASE}/work-orders", headers=world.owner.headers))["items"]
    assert (wo["status"], wo["labour_minutes"], [c["done"] for c in wo["checklist"]]) == ("done", 20, [True, False])


async def test_a_work_order_whose_plan_requires_it_is_closed_by_signature(app_factory, world, api) -> None:
    from tui.screens.signature_dialog import SignatureDialog

    asset = s.machine_asset(api, world.owner, world.machines[1]["id"])
    s.plan(api, world.owner, asset["id"], name="Guard inspection", every_days=7, requires_signature=True,
           last_done_at=s.ago(days=8).isoformat())
    [wo] = s.ok(api.get(f"{s.BASE}/work-orders", headers=world.owner.headers))["items"]
    s.ok(api.post(f"{s.BASE}/work-orders/{wo['id']}/start", headers=world.owner.headers))
    app = app_factory(poll_seconds=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("9")
        await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen), what="maintenance screen")
        orders = app.screen.query_one("#mt-orders", DataTable)
        await until(pilot, lambda: orders.row_count == 1, what="the work order")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WorkOrderScreen), what="work order")
        await until(pilot, lambda: app.screen.wo is not None, what="loaded")
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, SignatureDialog), what="signature dialog")
        app.screen.query_one("#sig-password", Input).value = world.password
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WorkOrderScreen), what="signed")
        await until(pilot, lambda: "done, signed" in text_of(pilot, "#wo-result"), what="closed")
    closed = s.ok(api.get(f"{s.BASE}/work-orders/{wo['id']}", headers=world.owner.headers))
    assert closed["status"] == "done" and closed["signatures"][0]["signer_id"] == world.owner.user_id


async def test_f8_shows_mtbf_and_mttr_per_asset_and_failure_reason(app_factory, world, api, app_engine) -> None:
    press = world.machines[0]
    t0 = s.ago(hours=4).replace(second=0, microsecond=0)
    minutes = [("running", 0), ("unplanned_stop", 60), ("running", 70), ("unplanned_stop", 130), ("running", 135),
               ("planned_stop", 180)]
    s.states(app_engine, world.owner, press["id"], *((state, t0 + timedelta(minutes=m)) for state, m in minutes))
    stops = sorted(s.ok(api.get("/api/v1/downtime", headers=world.owner.headers,
                                params={"machine_id": press["id"]}))["items"],
                   key=lambda d: d["started_at"])
    reasons = s.ok(api.get("/api/v1/downtime/reasons", headers=world.owner.headers, params={"limit": 200}))["items"]
    hydraulic = next(r["id"] for r in reasons if r["code"] == "BREAKDOWN.MECHANICAL.HYDRAULIC")
    s.ok(api.post(f"/api/v1/downtime/{stops[0]['id']}/reason", headers=world.owner.headers,
                  json={"reason_id": hydraulic}))
    app = app_factory(poll_seconds=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("9")
        await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen), what="maintenance screen")
        await pilot.press("f8")
        await until(pilot, lambda: isinstance(app.screen, ReliabilityScreen), what="reliability screen")
        table = app.screen.query_one("#rel-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="the press and its two reasons")
        if SHOTS:
            app.save_screenshot("maintenance-reliability.svg", path=SHOTS)
        # By hand: run 0–60, 70–130, 135–180 = 165 min = 9900 s (planned stop after 180);
        # failures 60–70 (Hydraulics, 600 s) and 130–135 (no reason yet, 300 s).
        # All: MTBF 9900 / 2 = 4950 s = 1h 22m; MTTR 900 / 2 = 450 s = 7m 30s.
        # Each reason: 1 failure, MTBF 9900 s = 2h 45m; MTTR 10m 00s and 5m 00s.
        assert [table.get_row_at(i) for i in range(3)] == [
            [f"{press['code']} Machine {press['code']}", "all reasons", "2", "1h 22m", "7m 30s"],
            ["", "Hydraulics", "1", "2h 45m", "10m 00s"],
            ["", "No reason given yet", "1", "2h 45m", "5m 00s"]]
        assert "last 30 days" in text_of(pilot, "#rel-title")
        await pilot.press("f5")
        await until(pilot, lambda: "last 90 days" in text_of(pilot, "#rel-title"), what="another period")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen), what="back")


def test_the_roles_step_names_every_permission_in_full() -> None:
    """`maintenance.workorder.trigger` once read as just "workorder" in the onboarding roles step."""
    from factoryos.client.models import PERMISSIONS, ROLES
    from tui.widgets.wizard.roles_step import bundle_text

    assert "maintenance view+request+workorder-trigger+manage" in bundle_text("plant_manager")
    for role, held in ROLES.items():
        text = bundle_text(role)
        if role in ("owner", "admin"):
            continue
        for p in (p for p in PERMISSIONS if p in held):
            area, rest = p.split(".", 1)
            assert rest.replace(".", "-") in text.split(f"{area} ", 1)[1], (role, p, text)
