"""F7 on the Quality screen at 80×24 against the real server: the rejects a machine counted are offered
next to the rejections booked by hand, and Enter on them opens an NC filled from that hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from textual.widgets import DataTable

from tests.nonconformances.support import ok, quality_plant
from tests.nonconformances.test_quality_tui import quality_screen
from tests.production import plant
from tests.quality.support import count_rejects
from tests.tui.pilot import settle, text_of, until
from tui.screens.quality_list import QualityScreen
from tui.screens.quality_rejections import RejectionPicker


async def test_scrap_the_machine_counted_opens_an_nc_with_one_key(app_factory, api, app_engine) -> None:
    p = quality_plant(api)
    plant.shift(api, p.owner, p.site["id"], "Day", "00:00", "00:00")  # 24 h: rejections can be booked
    plant.operator(api, p.owner, p.site["id"], p.operator.user_id)
    reasons = {r["code"]: r for r in api.get("/api/v1/downtime/reasons", headers=p.owner.headers).json()["items"]}
    now = datetime.now(UTC)
    ok(api.post("/api/v1/rejections", headers=p.operator.headers, json={
        "machine_id": p.machine["id"], "quantity": 2, "reason_id": reasons["DEFECT.DIMENSION"]["id"],
        "occurred_at": (now - timedelta(minutes=30)).isoformat()}), 201)
    hour = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    count_rejects(app_engine, p.owner.tenant_id, p.machine["id"],  # the poller's buckets: 8 rejects in one hour
                  {hour + timedelta(minutes=5): 5, hour + timedelta(minutes=6): 3})
    zone = ZoneInfo(p.site["timezone"])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.operator.email, p.operator.password)
        table = screen.query_one("#q-table", DataTable)
        await settle(pilot)
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, RejectionPicker), what="the scrap")
        rows = app.screen.query_one("#rj-table", DataTable)
        await until(pilot, lambda: rows.row_count == 2, what="listed")
        end = (hour + timedelta(hours=1)).astimezone(zone)
        assert [rows.get_row_at(i)[1:] for i in range(2)] == [
            [p.machine["code"], "2", reasons["DEFECT.DIMENSION"]["name"]],
            [p.machine["code"], "8", "Counted by the machine"]]
        assert rows.get_row_at(1)[0] == f"{hour.astimezone(zone):%a %H:%M}"
        # The line under the table: the highlighted row in full, the counted hour with its end.
        booked = f"2 rejected: {reasons['DEFECT.DIMENSION']['name']}"
        await until(pilot, lambda: booked in text_of(pilot, "#rj-detail"), what="the detail line")
        await pilot.press("down")
        assert (f"{hour.astimezone(zone):%a %d %b %H:%M}–{end:%H:%M} ({zone.key}) · 8 counted by the machine"
                in text_of(pilot, "#rj-detail"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen) and table.row_count == 1, what="the NC")
        await until(pilot, lambda: screen.nc is not None, what="detail")
        assert table.get_row_at(0)[:4] == ["NC-0001", "open", p.machine["code"], "8"]
        assert "Rejects counted by the machine" in text_of(pilot, "#q-detail")
    [nc] = api.get("/api/v1/nonconformances", headers=p.owner.headers).json()["items"]
    assert (nc["source"], nc["machine_id"], float(nc["quantity"])) == ("machine_count", p.machine["id"], 8.0)
    assert nc["source_at"] == hour.isoformat().replace("+00:00", "Z")
    assert f"{hour.astimezone(zone):%Y-%m-%d %H:%M}–{end:%H:%M} ({zone.key})" in nc["description"]
