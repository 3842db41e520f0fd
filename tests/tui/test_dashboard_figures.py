"""The dashboard's figures agree with each other and with the site shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from textual.widgets import Select, Static

from tests.tui.pilot import notes, on_dashboard, until
from tui.widgets.machine_tile import MachineTile


def count(api, world, machine: dict, good: int) -> None:
    r = api.post("/api/v1/production/entry", json={"machine_id": machine["id"], "good_quantity": good},
                 headers=world.owner.headers)
    assert r.status_code == 201, r.text


async def test_vs_target_counts_only_the_machines_that_have_a_target(app_factory, world, api):
    planned, unplanned = world.machines
    r = api.post("/api/v1/production/plan", headers=world.owner.headers, json={
        "machine_id": planned["id"], "shift_id": world.shift["id"],
        "shift_date": datetime.now(UTC).date().isoformat(), "target_quantity": 100})
    assert r.status_code == 201, r.text
    count(api, world, planned, 30)
    count(api, world, unplanned, 50)
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, world.owner.email, world.password)
        await until(pilot, lambda: len(screen.query(MachineTile)) == 2, what="tiles")
        tiles = [str(t.render()) for t in screen.query(MachineTile)]
        assert any("✓30/100" in t for t in tiles) and any("✓50 " in t for t in tiles)
        # 30 of 100 planned, not the 80 good parts of both machines against one machine's target.
        assert str(screen.query_one("#kpi-target .kpi-value").render()) == "30/100"


async def test_the_blank_site_entry_keeps_the_site_whose_figures_are_shown(app_factory, world):
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, world.owner.email, world.password)
        select = screen.query_one("#site-select", Select)
        await pilot.press("s", "enter", "up", "enter")  # the list's first entry: "choose a site"
        await pilot.pause()
        # The tiles still show Main plant's machines: the choice says so, not "choose a site".
        assert select.value == screen.site_id and str(screen.site_id) == world.site["id"]
        assert "Main plant" in str(select.query_one("SelectCurrent Static#label").render())


async def test_maintenance_due_on_another_site_is_not_flagged_here(app_factory, world, api):
    from tests.maintenance import support as s
    from tests.production import plant

    other = plant.site(api, world.owner, timezone="America/Chicago", name="Other plant")
    far = plant.machine(api, world.owner, other["id"], code="FAR-01", name="Far press")
    here = world.machines[0]
    for machine, name in ((far, "Far lubrication"), (here, "Near lubrication")):
        asset = s.machine_asset(api, world.owner, machine["id"])
        s.plan(api, world.owner, asset["id"], name=name, every_days=7, last_done_at=s.ago(days=8).isoformat())
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, world.owner.email, world.password)
        screen.query_one("#site-select", Select).value = UUID(world.site["id"])  # whichever came first
        await until(pilot, lambda: screen.last is not None and str(screen.last.live.site_id) == world.site["id"],
                    what="Main plant's figures")
        line = screen.query_one("#dash-maintenance", Static)
        await until(pilot, lambda: "Near lubrication" in str(line.render()), what="maintenance line")
        assert "Far lubrication" not in str(line.render()) and "FAR-01" not in str(line.render())


async def test_a_stop_from_an_earlier_day_says_its_day(app_factory, world, api):
    machine = world.machines[0]
    started = (datetime.now(UTC) - timedelta(hours=30)).replace(second=0, microsecond=0)
    r = api.post("/api/v1/downtime", json={"machine_id": machine["id"], "started_at": started.isoformat(),
                                           "ended_at": (started + timedelta(minutes=20)).isoformat(),
                                           "planned": False}, headers=world.owner.headers)
    assert r.status_code == 201, r.text
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, world.owner.email, world.password)
        alerts = screen.query_one("#alerts", Static)
        await until(pilot, lambda: "1 stop waiting" in str(alerts.render()), what="alert")
        # The site is on UTC: yesterday's weekday and time, not a bare time that reads as today.
        assert f"since {started:%a %H:%M}  " in str(alerts.render())


async def test_another_line_redraws_the_tiles_without_an_error(app_factory, world, api):
    from tests.production import plant

    line_b = plant.line(api, world.owner, world.site["id"], name="Line B", code="LINE-B")
    empty = plant.line(api, world.owner, world.site["id"], name="Line C", code="LINE-C")
    plant.machine(api, world.owner, world.site["id"], cycle="0.001", code="MILL-03", name="Mill", line_id=line_b["id"])
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, world.owner.email, world.password)
        await until(pilot, lambda: len(screen.query(MachineTile)) == 3, what="the site's three tiles")
        lines = screen.query_one("#line-select", Select)
        await until(pilot, lambda: len(lines._options) == 4, what="lines")  # blank, A, B, C
        lines.value = UUID(world.line["id"])
        await until(pilot, lambda: screen.last is not None and len(screen.last.live.machines) == 2, what="line A")
        await until(pilot, lambda: len(screen.query(MachineTile)) == 2, what="line A's tiles")
        lines.value = UUID(empty["id"])
        await until(pilot, lambda: screen.last is not None and not screen.last.live.machines, what="line C")
        for _ in range(3):  # a few polls of the empty line: its note once, not once per poll
            before = screen.last
            await until(pilot, lambda b=before: screen.last is not b, what="another poll")
        await pilot.pause()
        assert not screen.query(MachineTile)
        assert [str(w.render()) for w in screen.query("#dash-body Static") if "No active" in str(w.render())] == [
            "No active machines here."]
        assert not [n for n in notes(pilot) if "Unexpected" in n or "DuplicateIds" in n], notes(pilot)


async def test_names_with_brackets_are_shown_as_typed(app_factory, api):
    """Textual's markup reads `[A]` and `[B2]` as tags (Rich's escape leaves them: upper case)."""
    from tests.accounts import PASSWORD, new_company
    from tests.production import plant
    from tests.tui.pilot import text_of
    from tui.screens.machine_detail import MachineDetailScreen

    owner = new_company(api, timezone="UTC")
    site = plant.site(api, owner, timezone="UTC", name="Main plant")
    plant.machine(api, owner, site["id"], cycle="0.001", code="PRESS-01", name="Press [B2]")
    plant.shift(api, owner, site["id"], "Day [A]", "00:00", "00:00")
    app = app_factory(poll_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_dashboard(pilot, owner.email, PASSWORD)
        assert text_of(pilot, "#dash-shift").startswith("Day [A] 00:00–00:00")
        screen.query_one(MachineTile).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MachineDetailScreen) and app.screen.last is not None,
                    what="detail")
        assert text_of(pilot, "#md-gantt-title").startswith("State · Day [A] 00:00–00:00")
        await until(pilot, lambda: "Press [B2] ·" in text_of(pilot, "#md-summary"), what="the name as typed")
