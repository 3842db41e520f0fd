"""F7 on the Quality screen at 80×24: counted scrap in the hours of each site's clock. A site at +05:30
(Kolkata) shows hours starting at :00 there with each hour's rejects exact; a 40-character machine code is
cut to fit the table (no sideways scrolling) and shown in full under it; the night summer time ends in
Berlin shows the repeated 02:00 as two rows, told apart by the zone's abbreviation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from textual.widgets import DataTable

from factoryos.nonconformances.nc_models import NcOut
from tests.accounts import join, new_company
from tests.nonconformances.test_quality_tui import quality_screen
from tests.production import plant
from tests.quality.support import count_rejects
from tests.tui.pilot import settle, text_of, until
from tui.screens.quality_list import QualityScreen
from tui.screens.quality_rejections import RejectionPicker

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _fits(table: DataTable) -> None:
    assert table.virtual_size.width <= table.scrollable_content_region.width, (
        table.virtual_size.width, table.scrollable_content_region.width)
    assert table.max_scroll_x == 0


async def test_a_kolkata_sites_scrap_in_its_hours_and_a_long_code_fits_80_columns(app_factory, api,
                                                                                   app_engine) -> None:
    owner = new_company(api)
    kolkata = plant.site(api, owner, "Asia/Kolkata", name="Kolkata")
    berlin = plant.site(api, owner, "Europe/Berlin", name="Berlin")
    long_code = f"TURNING-CELL-4-SPINDLE-B-{uuid4().hex}"[:40]
    lathe = plant.machine(api, owner, kolkata["id"], code=long_code, name="Lathe")
    press = plant.machine(api, owner, berlin["id"])
    operator = join(api, owner, "operator")
    ist, cet = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")
    # Three hours before this hour in Kolkata, which starts at :30 UTC.
    h = datetime.now(UTC).astimezone(ist).replace(minute=0, second=0, microsecond=0).astimezone(UTC) - 3 * HOUR
    count_rejects(app_engine, owner.tenant_id, lathe["id"], {h - MINUTE: 1, h: 2, h + 30 * MINUTE: 3,
                                                        h + 59 * MINUTE: 4, h + HOUR: 5})
    pressed = h + 2 * HOUR + 10 * MINUTE  # Berlin's is the newest scrap: its site first
    count_rejects(app_engine, owner.tenant_id, press["id"], {pressed: 7})
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, operator.email, operator.password)
        await settle(pilot)
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, RejectionPicker), what="the scrap")
        table = app.screen.query_one("#rj-table", DataTable)
        await until(pilot, lambda: table.row_count == 4, what="listed")
        await settle(pilot)
        berlin_hour = pressed.astimezone(cet).replace(minute=0)
        assert table.get_row_at(0) == [berlin["code"], f"{berlin_hour:%a %H:%M}", press["code"], "7",
                                       "Counted by the machine"]
        rows = [table.get_row_at(i) for i in range(1, 4)]
        # Kolkata's rows: one per hour of its clock, each starting at :00 there, with that hour's rejects.
        assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
            (kolkata["code"], f"{start.astimezone(ist):%a %H:%M}", parts, "Counted by the machine")
            for start, parts in ((h + HOUR, "5"), (h, "9"), (h - HOUR, "1"))]
        assert all(r[1].endswith(":00") for r in rows)
        # The 40-character code is cut in the middle, its start and end still there to read.
        head, tail = rows[0][2].split("…")
        assert long_code.startswith(head) and long_code.endswith(tail) and len(head) + len(tail) >= 15, rows[0][2]
        _fits(table)
        # The detail line shows the highlighted row in full.
        await until(pilot, lambda: press["code"] in text_of(pilot, "#rj-detail"), what="the detail line")
        await pilot.press("down", "down")
        detail = text_of(pilot, "#rj-detail")
        assert long_code in detail, detail
        assert f"{h.astimezone(ist):%a %d %b %H:%M}–{(h + HOUR).astimezone(ist):%H:%M} (Asia/Kolkata) · 9 counted by " \
               "the machine" in detail
        # Wider, the code has the room to show whole; back at 80 columns it is cut again; the cursor stays.
        await pilot.resize_terminal(120, 30)
        await until(pilot, lambda: table.get_row_at(2)[2] == long_code, what="the whole code")
        _fits(table)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: table.get_row_at(2)[2] == rows[1][2], what="the code cut again")
        _fits(table)
        assert table.cursor_row == 2
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen) and screen.nc is not None, what="the NC")
    [nc] = api.get("/api/v1/nonconformances", headers=owner.headers).json()["items"]
    assert (nc["machine_id"], float(nc["quantity"])) == (lathe["id"], 9.0)
    assert nc["source_at"] == h.isoformat().replace("+00:00", "Z")


async def test_the_night_summer_time_ends_shows_02_00_twice_in_berlin(app_factory, api, app_engine) -> None:
    owner = new_company(api)
    site = plant.site(api, owner, "Europe/Berlin")
    press = plant.machine(api, owner, site["id"])
    operator = join(api, owner, "operator")
    # 01:10 CEST, 02:10 CEST, 02:10 CET, 03:10 CET on 2026-10-25; the picker is opened at 04:30 CET.
    night = datetime(2026, 10, 24, 23, 10, tzinfo=UTC)
    count_rejects(app_engine, owner.tenant_id, press["id"], {night + i * HOUR: i + 1 for i in range(4)})
    opened: list[NcOut | None] = []
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, operator.email, operator.password)
        await until(pilot, lambda: screen.reference is not None, what="the plant")
        ref = screen.reference
        app.push_screen(RejectionPicker(screen.api, ref.sites, ref.machines,
                                        now=lambda: datetime(2026, 10, 25, 3, 30, tzinfo=UTC)),
                        callback=opened.append)
        await until(pilot, lambda: isinstance(app.screen, RejectionPicker), what="the scrap")
        table = app.screen.query_one("#rj-table", DataTable)
        await until(pilot, lambda: table.row_count == 4, what="listed")
        await settle(pilot)
        counted = "Counted by the machine"
        assert [table.get_row_at(i) for i in range(4)] == [
            ["Sun 03:00", press["code"], "4", counted], ["Sun 02:00 CET", press["code"], "3", counted],
            ["Sun 02:00 CEST", press["code"], "2", counted], ["Sun 01:00", press["code"], "1", counted]]
        _fits(table)
        # The detail line: each hour until when, in the same clock.
        details = []
        for _ in range(4):
            details.append(text_of(pilot, "#rj-detail").splitlines()[1])
            await pilot.press("down")
        assert details == [f"Sun 25 Oct {hours} (Europe/Berlin) · {parts} counted by the machine" for hours, parts in (
            ("03:00–04:00", 4), ("02:00 CET–03:00", 3), ("02:00 CEST–02:00 CET", 2), ("01:00–02:00 CEST", 1))]
        await pilot.press("up")
        await pilot.press("enter")
        await until(pilot, lambda: opened != [], what="the NC")
    [nc] = opened
    assert nc is not None and nc.source_at == datetime(2026, 10, 25, 0, 0, tzinfo=UTC) and nc.quantity == 2
    assert nc.description.endswith("2026-10-25 02:00 CEST–02:00 CET (Europe/Berlin)")
