"""Preventive work that needs the machine stopped shows on the production plan before it starts:
/maintenance/planned-stops over HTTP, and the Planning screen at 80×24 (machine, order, window
in site time)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from textual.widgets import DataTable

from tests.maintenance import support as s
from tests.production import plant
from tests.tui.pilot import signed_in, text_of, until
from tui.screens.planning import PlanningScreen

WO = f"{s.BASE}/work-orders"
STOPS = f"{s.BASE}/planned-stops"
SHOTS = os.environ.get("MAINTENANCE_SCREENSHOTS")


def _due_order(api, who, machine_id: str, name: str, **plan) -> dict:
    asset = s.machine_asset(api, who, machine_id)
    p = s.plan(api, who, asset["id"], name=name, every_days=7, last_done_at=s.ago(days=8).isoformat(), **plan)
    [wo] = s.ok(api.get(WO, headers=who.headers, params={"asset_id": asset["id"], "kind": "preventive"}))["items"]
    assert wo["plan_id"] == p["id"] and wo["status"] == "approved"
    return wo


def test_planned_stops_over_http(api, owner) -> None:
    m1, m2, m3 = (s.machine(api, owner) for _ in range(3))
    scheduled = _due_order(api, owner, m1["id"], "Mould change check", estimated_minutes=90)
    start = (s.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    s.ok(api.post(f"{WO}/{scheduled['id']}/schedule", headers=owner.headers,
                  json={"scheduled_for": start.isoformat()}))
    unscheduled = _due_order(api, owner, m2["id"], "Spindle service")
    _due_order(api, owner, m3["id"], "Walk-around", needs_stop=False)  # runs on: not a stop
    params = {"from": s.now().isoformat(), "to": (s.now() + timedelta(days=1)).isoformat()}
    found = s.ok(api.get(STOPS, headers=owner.headers, params=params))
    assert [(x["number"], x["status"], x["machine_id"]) for x in found] == [
        (scheduled["number"], "scheduled", m1["id"]), (unscheduled["number"], "approved", m2["id"])]
    # The window: its scheduled start plus the plan's estimated 90 minutes.
    assert datetime.fromisoformat(found[0]["starts_at"]) == start
    assert datetime.fromisoformat(found[0]["ends_at"]) == start + timedelta(minutes=90)
    assert found[1]["starts_at"] is None and found[1]["ends_at"] is None
    # A period that ends before the scheduled start leaves it out; started work is no longer planned.
    early = {"from": s.now().isoformat(), "to": (start - timedelta(minutes=1)).isoformat()}
    assert [x["number"] for x in s.ok(api.get(STOPS, headers=owner.headers, params=early))] == [unscheduled["number"]]
    s.ok(api.post(f"{WO}/{unscheduled['id']}/start", headers=owner.headers))
    assert [x["number"] for x in s.ok(api.get(STOPS, headers=owner.headers, params=params))] == [scheduled["number"]]
    plant.problem(api.get(STOPS, headers=owner.headers, params={"from": params["to"], "to": params["from"]}),
                  422, "invalid_range", "to")


async def test_the_planning_screen_shows_maintenance_stops_before_they_start(app_factory, world, api) -> None:
    press, lathe = world.machines
    scheduled = _due_order(api, world.owner, press["id"], "Hydraulic service", estimated_minutes=45)
    # From this minute: inside the running shift (00:00–24:00 UTC) whatever the time of day; a
    # start ten minutes ahead fell in tomorrow's shift when the test ran after 23:50.
    start = s.now().replace(second=0, microsecond=0)
    s.ok(api.post(f"{WO}/{scheduled['id']}/schedule", headers=world.owner.headers,
                  json={"scheduled_for": start.isoformat()}))
    unscheduled = _due_order(api, world.owner, lathe["id"], "Chuck inspection")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="planning screen")
        table = app.screen.query_one("#plan-stops", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="the two maintenance stops")
        if SHOTS:
            app.save_screenshot("planning-stops.svg", path=SHOTS)
        end = start + timedelta(minutes=45)  # the site is on UTC
        window = f"{start:%a %d %H:%M}–{end:%H:%M}" if start.date() == end.date() else \
            f"{start:%d %H:%M}–{end:%a %d %H:%M}"
        assert table.get_row_at(0) == [press["code"], scheduled["number"], window, "Hydraulic service"]
        assert table.get_row_at(1) == [lathe["code"], unscheduled["number"], "not scheduled yet", "Chuck inspection"]
        assert "Maintenance stops in this shift (2)" in text_of(pilot, "#plan-stops-title")
        assert table.region.bottom <= 23 and table.region.height >= 3  # on screen, above the footer
