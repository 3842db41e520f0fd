"""Overdue CAPA actions on the dashboard for their owners (80×24, the real server): the signed-in user's
own overdue actions only, judged by the site's calendar; hidden for someone with none. And the NC detail's
hint follows the reader's permissions: the key for who may sign, who signs for who may not."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.accounts import PASSWORD, Session, new_company
from tests.nonconformances.support import CAPA, disposition, ok, open_nc, quality_plant
from tests.production import plant
from tests.tui.pilot import settle, signed_in, text_of, until
from tui.screens.dashboard import DashboardScreen
from tui.screens.quality_list import QualityScreen, approvers
from tui.widgets.capa_due_line import CapaDueLine
from tui.widgets.machine_tile import MachineTile

ZONE = "Pacific/Kiritimati"  # UTC+14: the site's date is often not the UTC date


def capa_with_actions(api, who: Session, machine_id: str, actions: list[tuple[str, str, date]]) -> dict:
    nc = open_nc(api, who, machine_id)
    capa = ok(api.post(CAPA, json={"title": "Burrs", "problem": "Burrs on the flange",
                                   "nonconformance_ids": [nc["id"]]}, headers=who.headers), 201)
    for description, owner_id, due in actions:
        capa = ok(api.post(f"{CAPA}/{capa['id']}/actions", headers=who.headers, json={
            "description": description, "owner_id": owner_id, "due_date": due.isoformat()}), 201)
    return capa


async def dashboard_line(pilot, email: str) -> CapaDueLine:
    await signed_in(pilot, email, PASSWORD)
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
    line = pilot.app.screen.query_one("#dash-capa", CapaDueLine)
    await until(pilot, lambda: line.read_once, what="first read of the CAPA actions")
    await settle(pilot)
    return line


async def test_the_owner_sees_their_overdue_capa_actions_on_the_dashboard(app_factory, api) -> None:
    owner = new_company(api, ZONE)
    site = plant.site(api, owner, timezone=ZONE)
    machine = plant.machine(api, owner, site["id"])
    p_site_today = datetime.now(ZoneInfo(ZONE)).date()
    other = quality_plant(api).supervisor  # a member of another company never shows up here
    capa_with_actions(api, owner, machine["id"], [
        ("Replace the worn deburring tool", owner.user_id, p_site_today - timedelta(days=3)),
        ("Train the night shift", owner.user_id, p_site_today - timedelta(days=1)),
        ("Check the fixture", owner.user_id, p_site_today),  # due today at the site: not late yet
        ("Add a go/no-go gauge", owner.user_id, p_site_today + timedelta(days=5)),
    ])
    done = capa_with_actions(api, owner, machine["id"], [
        ("Sort the stock", owner.user_id, p_site_today - timedelta(days=9))])
    ok(api.post(f"{CAPA}/{done['id']}/actions/{done['actions'][0]['id']}/done", json={"note": "Sorted"},
                headers=owner.headers))
    assert other.tenant_id != owner.tenant_id
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        line = await dashboard_line(pilot, owner.email)
        assert [a.description for a in line.overdue] == ["Replace the worn deburring tool", "Train the night shift"]
        assert line.display and line.region.height >= 1 and line.region.width > 0  # on screen, below the tiles
        shown = text_of(pilot, "#dash-capa")
        due = p_site_today - timedelta(days=3)
        assert shown.startswith("⚑ 2 CAPA actions of yours overdue: CAPA-0001 Replace the worn deburring tool")
        assert f"due {due:%a %d %b}" in shown and "q on the home screen, then F3" in shown
        tiles = pilot.app.screen.query(MachineTile)
        assert all(t.region.bottom <= line.region.y for t in tiles)


async def test_each_action_is_late_by_its_own_sites_calendar(app_factory, api) -> None:
    """Two sites 25 hours apart: the same due date is past at Kiritimati (UTC+14) and still ahead at Pago Pago
    (UTC-11), whichever site comes first and whatever the UTC date (which sits between the two)."""
    east, west = ZONE, "Pacific/Pago_Pago"
    owner = new_company(api, west)
    west_site = plant.site(api, owner, name="A West yard", timezone=west)  # the first site: the dashboard's
    east_site = plant.site(api, owner, name="B East yard", timezone=east)
    due = datetime.now(ZoneInfo(east)).date() - timedelta(days=1)  # yesterday in the east, today or later west
    assert due >= datetime.now(ZoneInfo(west)).date()
    capa_with_actions(api, owner, plant.machine(api, owner, west_site["id"])["id"], [
        ("Clean the west press", owner.user_id, due)])
    capa_with_actions(api, owner, plant.machine(api, owner, east_site["id"])["id"], [
        ("Clean the east press", owner.user_id, due)])
    mine = ok(api.get(f"{CAPA}/actions", params={"open": "true"}, headers=owner.headers))
    assert {a["description"]: a["overdue"] for a in mine} == {"Clean the west press": False,
                                                               "Clean the east press": True}
    late = ok(api.get(f"{CAPA}/actions", params={"overdue": "true"}, headers=owner.headers))
    assert [a["description"] for a in late] == ["Clean the east press"]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        line = await dashboard_line(pilot, owner.email)
        assert [a.description for a in line.overdue] == ["Clean the east press"]
        shown = text_of(pilot, "#dash-capa")
        assert shown.startswith("⚑ 1 CAPA action of yours overdue") and f"due {due:%a %d %b}" in shown


async def test_someone_without_overdue_actions_sees_no_line(app_factory, api) -> None:
    p = quality_plant(api)
    capa_with_actions(api, p.supervisor, p.machine["id"], [
        ("Someone else's late action", p.manager.user_id, date.today() - timedelta(days=10))])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        line = await dashboard_line(pilot, p.supervisor.email)
        assert line.overdue == [] and not line.has_class("-due") and not line.display


async def nc_detail(app_factory, api, who: Session, nc_id: str) -> str:
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, who.email, who.password)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen), what="quality screen")
        screen = app.screen
        await until(pilot, lambda: screen.nc is not None and str(screen.nc.id) == nc_id, what="NC detail")
        await settle(pilot)
        return text_of(pilot, "#q-detail")


async def test_the_close_hint_follows_the_readers_permissions(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    disposition(api, p.supervisor, nc["id"], "scrap")
    # A supervisor decides dispositions but does not approve: told who signs, not a key they lack.
    shown = await nc_detail(app_factory, api, p.supervisor, nc["id"])
    assert "F6" not in shown
    assert "closing needs the signature of someone who may approve quality" in " ".join(shown.split())
    assert approvers() == "Plant Manager, Owner or Admin"
    assert "Plant Manager, Owner or Admin" in " ".join(shown.split())
    # A plant manager may: the key.
    shown = await nc_detail(app_factory, api, p.manager, nc["id"])
    assert "Next: F6 closes it with your signature." in shown


async def test_the_capa_approval_hint_names_who_approves_for_someone_who_may_not(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    ok(api.post(CAPA, json={"title": "Scratches", "problem": "Scratches at packing", "containment": "Sort the stock",
                            "nonconformance_ids": [nc["id"]]}, headers=p.supervisor.headers), 201)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, p.supervisor.email, p.supervisor.password)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen), what="quality screen")
        screen = app.screen
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: screen.capa is not None, what="CAPA detail")
        shown = " ".join(text_of(pilot, "#q-detail").split())
        assert ("Next: containment needs the approval of someone who may approve quality "
                "(Plant Manager, Owner or Admin).") in shown
        assert "F6" not in shown
