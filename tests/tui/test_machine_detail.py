"""Drill-down at 80×24: Enter on a dashboard tile opens the machine's detail with its figures
(state Gantt, counts per hour against the target, stops, connection); a stop gets its reason
there; Escape goes back. Data comes from the real signal path (state changes and count
buckets written as the poller writes them) and the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from textual.widgets import DataTable, Select

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts, record_state_change
from tests.accounts import PASSWORD, Session, join, new_company
from tests.orders import runs_plant
from tests.production import plant
from tests.tui.pilot import signed_in, text_of, until
from tui.screens.dashboard import DashboardScreen
from tui.screens.machine_detail import MachineDetailScreen
from tui.screens.stop_reason import StopReasonDialog
from tui.widgets.machine_tile import MachineTile


@dataclass
class Floor:
    owner: Session
    machines: list[dict[str, Any]]
    start: datetime  # the running shift's start: a whole hour, 2 to 3 hours ago
    jam: dict[str, Any]  # a downtime reason an operator picks


def hh(at: datetime) -> str:
    return f"{at:%H:%M}"


@pytest.fixture()
def floor(api: httpx.Client, app_engine) -> Floor:
    """PRESS-01 ran from the shift's start +5 min, stopped from +60 to +75 min (waiting for a
    reason), then ran again; it counted 30 good and 2 scrap at +10 min and 6 good at +80 min.
    The plan's target is 240 in the 24-hour shift: 10 per hour."""
    owner = new_company(api, timezone="UTC")
    site = plant.site(api, owner, timezone="UTC", name="Main plant")
    machines = [plant.machine(api, owner, site["id"], cycle="0.001", code=c, name=f"Machine {c}")
                for c in ("PRESS-01", "LATHE-02")]
    plant.operator(api, owner, site["id"], owner.user_id)  # who starts orders at the machine
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    shift = plant.shift(api, owner, site["id"], "Round", f"{start:%H:%M}", f"{start:%H:%M}")
    r = api.post("/api/v1/production/plan", headers=owner.headers, json={
        "machine_id": machines[0]["id"], "shift_id": shift["id"], "shift_date": start.date().isoformat(),
        "target_quantity": 240})
    assert r.status_code == 201, r.text
    tenant, press = uuid.UUID(owner.tenant_id), uuid.UUID(machines[0]["id"])
    with tenant_transaction(app_engine, tenant) as conn:
        for state, code, minutes in (("running", 1, 5), ("unplanned_stop", 3, 60), ("running", 1, 75)):
            record_state_change(conn, tenant, press, state, code, start + timedelta(minutes=minutes))
        record_counts(conn, tenant, [CountRow(press, start + timedelta(minutes=10), 30, 2, "k1"),
                                     CountRow(press, start + timedelta(minutes=80), 6, 0, "k2")])
    reasons = api.get("/api/v1/downtime/reasons", headers=owner.headers, params={"limit": 200}).json()["items"]
    jam = next(x for x in reasons if x["code"] == "MINOR_STOP.JAM")
    return Floor(owner, machines, start, jam)


async def open_dashboard(pilot, email: str) -> DashboardScreen:
    await signed_in(pilot, email, PASSWORD)
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
    screen = pilot.app.screen
    await until(pilot, lambda: len(screen.query(MachineTile)) == 2 and screen.last is not None, what="tiles")
    return screen


async def test_enter_on_a_tile_opens_its_detail_and_a_stop_gets_its_reason(app_factory, floor):
    app = app_factory(poll_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await open_dashboard(pilot, floor.owner.email)
        tiles = list(dashboard.query(MachineTile))
        tiles[0].focus()  # tiles go by code: LATHE-02, PRESS-01
        await pilot.press("right")  # the arrows move between tiles
        assert app.focused is tiles[1]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MachineDetailScreen), what="detail")
        detail = app.screen
        await until(pilot, lambda: detail.last is not None, what="detail figures")

        summary = text_of(pilot, "#md-summary")
        assert "PRESS-01" in summary and "RUNNING" in summary and "✓36/240 ✗2" in summary
        assert "Order –" in summary
        assert "Connection: none, counts are entered by hand" in summary
        gantt = text_of(pilot, "#md-gantt")
        title = text_of(pilot, "#md-gantt-title")
        assert f"Round {hh(floor.start)}–{hh(floor.start)}" in title
        assert "1 character = 20 min" in title  # 24 h in 76 columns
        # 20-minute cells: running from +5 fills most of the first; the stop from +60 to +75 most
        # of the fourth (+60..+80); then running up to now, and the rest of the shift stays blank.
        bar = gantt.splitlines()[0]
        assert bar.startswith("███X█"), bar
        assert "█ running" in gantt and "X stopped" in gantt
        hours = text_of(pilot, "#md-hours").splitlines()
        first = next(line for line in hours if line.startswith(hh(floor.start)))
        second = next(line for line in hours if line.startswith(hh(floor.start + timedelta(hours=1))))
        assert "30 / 10" in first and "on target" in first and "✗2" in first
        assert "6 / 10" in second and "below (-4)" in second
        assert any("upcoming" in line for line in hours)

        table = detail.query_one("#md-stops", DataTable)
        assert table.row_count == 1
        assert table.get_row_at(0) == [hh(floor.start + timedelta(hours=1)), "15m", "unplanned",
                                       "⚠ waiting for a reason"]
        assert "⚠ 1 waiting for a reason" in text_of(pilot, "#md-stops-title")

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, StopReasonDialog), what="reason dialog")
        dialog = app.screen
        await pilot.press("enter")  # the stop highlighted in the list → the reason field
        dialog.query_one("#downtime-reason", Select).value = uuid.UUID(floor.jam["id"])
        await pilot.pause()
        await pilot.press("enter")  # Assign reason
        await until(pilot, lambda: app.screen is detail, what="back on the detail")
        await until(pilot, lambda: table.row_count == 1 and table.get_row_at(0)[3] == floor.jam["name"],
                    what="the reason in the stops table")
        assert "waiting" not in text_of(pilot, "#md-stops-title")

        await pilot.press("escape")
        await until(pilot, lambda: app.screen is dashboard, what="dashboard again")


async def test_read_only_members_see_the_detail_without_the_reason_action(app_factory, floor, api):
    viewer = join(api, floor.owner, "read_only")
    app = app_factory(poll_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await open_dashboard(pilot, viewer.email)
        tiles = list(dashboard.query(MachineTile))
        tiles[0].focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MachineDetailScreen), what="detail")
        detail = app.screen
        await until(pilot, lambda: detail.last is not None, what="detail figures")
        assert "LATHE-02" in text_of(pilot, "#md-summary") and "NO SIGNAL" in text_of(pilot, "#md-summary")
        shown = {b.binding.action for b in detail.active_bindings.values() if b.enabled}
        assert "give_reason" not in shown and "refresh" in shown
        await pilot.press("g")
        await pilot.pause()
        assert app.screen is detail


async def test_the_running_order_shows_on_its_tile_and_in_the_detail(app_factory, floor, api, app_engine):
    press = floor.machines[0]
    order = runs_plant.order(app_engine, floor.owner.tenant_id, [{"machine_id": press["id"], "queue_position": 1,
                                                                  "name": "Turning"}],
                             quantity=50, product="Bracket", machine_id=press["id"])
    with tenant_transaction(app_engine, uuid.UUID(floor.owner.tenant_id)) as conn:
        conn.execute(text("update jobs set job_number = 'MO-7' where id = :id"), {"id": order["id"]})
    r = api.post(f"/api/v1/machines/{press['id']}/run", headers=floor.owner.headers,
                 json={"operation_id": order["operations"][0]})
    assert r.status_code == 201, r.text
    started = datetime.fromisoformat(r.json()["run"]["started_at"])
    # The first minute whose midpoint lies in the run: its parts belong to the order.
    minute = (started + timedelta(seconds=30)).replace(second=0, microsecond=0)
    with tenant_transaction(app_engine, uuid.UUID(floor.owner.tenant_id)) as conn:
        record_counts(conn, uuid.UUID(floor.owner.tenant_id), [CountRow(press["id"], minute, 12, 0, "o1")])

    app = app_factory(poll_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = await open_dashboard(pilot, floor.owner.email)
        tile = list(dashboard.query(MachineTile))[1]
        await until(pilot, lambda: "▶ MO-7 12/50" in str(tile.render()), what="the order on the tile")
        assert tile.region.height == 4 and str(tile.render()).startswith("PRESS-01")
        tile.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MachineDetailScreen), what="detail")
        detail = app.screen
        await until(pilot, lambda: detail.last is not None, what="detail figures")
        summary = text_of(pilot, "#md-summary")
        assert "Order MO-7 · Bracket · 10 Turning · 12/50 (24%) · finish ~" in summary, summary


# -- snapshots -------------------------------------------------------------------------------------

# The floor's 80×24 in the fast suite; the larger terminal too in the full run (`slow`).
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40", marks=pytest.mark.slow)]
DAY = datetime(2026, 3, 2, tzinfo=UTC)


def t(hours: int, minutes: int = 0) -> datetime:
    return DAY + timedelta(hours=hours, minutes=minutes)


@pytest.fixture(scope="module")
def snap_owner(api: httpx.Client) -> str:
    email = "snap-detail@example.com"
    h = new_company(api, "UTC", email=email, name="Snapshot Works").headers
    site = api.post("/api/v1/sites", json={"name": "Main plant", "code": "MAIN", "timezone": "UTC"}, headers=h).json()
    r = api.post("/api/v1/machines", headers=h, json={"site_id": site["id"], "code": "PRESS-01", "name": "Press 1",
                                                      "ideal_cycle_seconds": 30})
    assert r.status_code == 201, r.text
    return email


def fixed_detail(screen: MachineDetailScreen):
    """The early shift of 2 March at 11:47, always the same (the real screen draws it)."""
    from factoryos.client.models import DowntimeOut, LiveMachine, MachineTimeline
    from tui.screens.machine_detail import Detail

    by_code = {r.code: r.id for r in screen.reasons.values()}
    shift = {"id": None, "pattern_id": str(uuid.uuid4()), "site_id": str(screen.site_id), "name": "Early",
             "local_date": "2026-03-02", "starts_at": t(6), "ends_at": t(14),
             "breaks": [{"start": t(10), "end": t(10, 30)}], "length_seconds": 28_800, "break_seconds": 1_800}

    def stop(start: datetime, end: datetime | None, planned: bool, reason: str | None) -> DowntimeOut:
        return DowntimeOut.model_validate({
            "id": uuid.uuid4(), "machine_id": screen.machine.machine_id, "started_at": start, "ended_at": end,
            "duration_seconds": None if end is None else (end - start).total_seconds(), "planned": planned,
            "reason_id": by_code[reason] if reason else None, "source": "machine", "needs_reason": reason is None,
            "note": None, "created_by": None, "created_at": start, "updated_at": start})

    stops = [stop(t(7, 10), t(7, 30), True, "SETUP.CHANGEOVER"), stop(t(9, 5), t(9, 25), False, "MINOR_STOP.JAM"),
             stop(t(11, 20), t(11, 32), False, None)]
    machine = LiveMachine.model_validate({
        "machine_id": screen.machine.machine_id, "code": "PRESS-01", "name": "Press 1", "line_id": None,
        "state": "running", "state_since": t(11, 32), "raw_code": 1, "shift": shift, "good_count": 487,
        "reject_count": 9, "target_quantity": 800, "kpis": None, "pending_downtime": [stops[2]],
        "order": {"order_id": uuid.uuid4(), "order_number": "MO-2026-0042", "product": "Bracket",
                  "product_number": "BR-100", "operation_id": uuid.uuid4(), "operation": "Milling",
                  "operation_seq": 20, "run_started_at": t(7, 10), "setup_ended_at": t(7, 30), "good": 312,
                  "scrap": 5, "ordered": 500, "progress": 0.624, "cycle_seconds": 30, "parts_per_cycle": 1,
                  "expected_finish": t(13, 21)},
        "connection": {"protocol": "modbus", "enabled": True, "health": {
            "state": "ok", "last_ok": t(11, 46) + timedelta(seconds=58), "last_error": None, "error_code": None,
            "reported_at": t(11, 47)}}})
    spans = [("running", t(6), t(7, 10)), ("setup", t(7, 10), t(7, 30)), ("running", t(7, 30), t(9, 5)),
             ("unplanned_stop", t(9, 5), t(9, 25)), ("running", t(9, 25), t(10)),
             ("planned_stop", t(10), t(10, 30)), ("running", t(10, 30), t(11, 20)),
             ("unplanned_stop", t(11, 20), t(11, 32)), ("running", t(11, 32), None)]
    good = [98, 71, 104, 52, 96, 66, 0, 0]
    scrap = [2, 0, 3, 0, 4, 0, 0, 0]
    timeline = MachineTimeline.model_validate({
        "machine_id": screen.machine.machine_id, "start": t(6), "end": t(14),
        "states": [{"state": s, "started_at": a, "ended_at": b} for s, a, b in spans],
        "hours": [{"start": t(6 + i), "end": t(7 + i), "good": good[i], "reject": scrap[i]} for i in range(8)]})
    return Detail(machine, t(11, 47), t(6), t(14), timeline, stops)


@pytest.mark.parametrize("size", SIZES)
def test_detail_snapshot(snap_compare, app_factory, snap_owner, size):
    async def before(pilot):
        await signed_in(pilot, snap_owner, PASSWORD)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
        dashboard = pilot.app.screen
        await until(pilot, lambda: dashboard.last is not None and dashboard.query(MachineTile), what="tiles")
        dashboard.query(MachineTile).first().focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, MachineDetailScreen), what="detail")
        screen = pilot.app.screen
        await until(pilot, lambda: screen.last is not None, what="detail figures")
        screen.on_screen_suspend()  # no later poll redraws it with the real clock
        await pilot.app.workers.wait_for_complete()
        screen._draw(fixed_detail(screen))
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=size, run_before=before)
