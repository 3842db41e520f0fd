"""One shift, in Reports, starts at the shift running now: a night shift after midnight is
yesterday's, not a shift of today that has not begun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from textual.widgets import Input, Select

from tests.accounts import PASSWORD, new_company
from tests.production import plant
from tests.tui.pilot import signed_in, until
from tui.screens.reports import ReportsScreen


def zone_at_two_in_the_morning() -> str:
    """A fixed-offset zone whose clock reads 02:xx now (inside a 22:00–06:00 shift, after midnight)."""
    offset = (2 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


async def test_one_shift_starts_at_the_night_shift_running_since_yesterday(app_factory, api):
    owner = new_company(api, timezone="UTC")
    zone = zone_at_two_in_the_morning()
    site = plant.site(api, owner, timezone=zone, name="Night plant")
    for name, start, end in (("Early", "06:00", "14:00"), ("Late", "14:00", "22:00"), ("Night", "22:00", "06:00")):
        plant.shift(api, owner, site["id"], name, start, end)
    today = datetime.now(ZoneInfo(zone)).date()
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, ReportsScreen), what="reports")
        screen = app.screen
        await until(pilot, lambda: screen.site is not None and bool(screen.patterns), what="site and shifts")
        assert screen.query_one("#r-date", Input).value == today.isoformat()  # One day: today
        screen.query_one("#r-period", Select).value = "shift"
        await pilot.pause()
        yesterday = (today - timedelta(days=1)).isoformat()
        assert screen.query_one("#r-shift", Select).value == "Night"
        assert screen.query_one("#r-date", Input).value == yesterday
        assert screen.query_one("#r-path", Input).value.endswith(f"{yesterday}-Night.pdf")
