"""F7 on the Quality screen at 80×24 for a member of two sites 25 hours apart (Pago Pago at UTC−11,
Kiritimati at UTC+14): each row names its site and shows the time in that site's clock, the rows grouped
by site, newest first within each, the site with the newest scrap (here a booked rejection) first; the
table fits the dialog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from textual.widgets import DataTable

from tests.accounts import join, new_company
from tests.nonconformances.test_quality_tui import quality_screen
from tests.production import plant
from tests.quality.support import count_rejects
from tests.tui.pilot import settle, until
from tui.screens.quality_rejections import RejectionPicker

HOUR = timedelta(hours=1)


async def test_two_sites_scrap_in_each_sites_clock_grouped_by_site(app_factory, api, app_engine) -> None:
    owner = new_company(api)
    pago = plant.site(api, owner, "Pacific/Pago_Pago", name="Pago Pago")
    kiri = plant.site(api, owner, "Pacific/Kiritimati", name="Kiritimati")
    press, lathe = plant.machine(api, owner, pago["id"]), plant.machine(api, owner, kiri["id"])
    operator = join(api, owner, "operator")
    plant.shift(api, owner, kiri["id"], "Day", "00:00", "00:00")  # 24 h: a rejection can be booked
    plant.operator(api, owner, kiri["id"], operator.user_id)
    reasons = {r["code"]: r for r in api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]}
    booked_at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    r = api.post("/api/v1/rejections", headers=operator.headers, json={
        "machine_id": lathe["id"], "quantity": 6, "reason_id": reasons["DEFECT.DIMENSION"]["id"],
        "occurred_at": booked_at.isoformat()})
    assert r.status_code == 201, r.text
    h = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 4 * HOUR
    # In real time the sites alternate; grouped, Kiritimati (the rejection is the newest) comes first.
    counted = ((press, h + HOUR, 3), (lathe, h, 4), (press, h - HOUR, 5), (lathe, h - 2 * HOUR, 2))
    for machine, hour, reject in counted:
        count_rejects(app_engine, owner.tenant_id, machine["id"], {hour + timedelta(minutes=7): reject})
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await quality_screen(pilot, operator.email, operator.password)
        await settle(pilot)
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, RejectionPicker), what="the scrap")
        table = app.screen.query_one("#rj-table", DataTable)
        await until(pilot, lambda: table.row_count == 5, what="listed")
        await settle(pilot)
        assert [str(c.label) for c in table.ordered_columns] == ["Site", "Site time", "Machine", "Parts", "Reason"]
        kiri_zone = ZoneInfo(kiri["timezone"])
        expected = [[kiri["code"], f"{booked_at.astimezone(kiri_zone):%a %H:%M}", lathe["code"], "6",
                     reasons["DEFECT.DIMENSION"]["name"]]]
        for machine, hour, reject in (counted[1], counted[3], counted[0], counted[2]):
            site = pago if machine is press else kiri
            zone = ZoneInfo(site["timezone"])
            expected.append([site["code"], f"{hour.astimezone(zone):%a %H:%M}", machine["code"], str(reject),
                             "Counted by the machine"])
        assert [table.get_row_at(i) for i in range(5)] == expected
        # 25 hours apart: the same instant is another day and hour at each site.
        assert expected[3][1] != f"{(h + HOUR).astimezone(kiri_zone):%a %H:%M}"
        # Every column is on screen at 80 columns: nothing to scroll sideways to.
        assert table.virtual_size.width <= table.scrollable_content_region.width, (
            table.virtual_size.width, table.scrollable_content_region.width)
