"""The dashboard at 80×24 with the owner's overdue CAPA actions below the tiles (SVG snapshot).

Fixed data: names, codes, a due date long past (so it is overdue on every run, with the same
weekday), no shift; the dashboard's "updated at" clock is blanked. Update after a deliberate
change with `pytest --snapshot-update`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from textual.widgets import Static

from tests.accounts import PASSWORD, new_company
from tests.nonconformances.support import CAPA, ok, open_nc
from tests.tui.pilot import settle, signed_in, until
from tui.app import make_app
from tui.screens.dashboard import DashboardScreen
from tui.widgets.capa_due_line import CapaDueLine
from tui.widgets.machine_tile import MachineTile

EMAIL = "snap-capa@example.com"
DUE = date(2026, 3, 2)  # a Monday, long past


@pytest.fixture(scope="module")
def capa_plant(api) -> str:
    owner = new_company(api, "UTC", email=EMAIL, name="Capa Works")
    h = owner.headers
    site = ok(api.post("/api/v1/sites", json={"name": "Main plant", "code": "MAIN", "timezone": "UTC"}, headers=h),
              201)
    machine = ok(api.post("/api/v1/machines", headers=h, json={"site_id": site["id"], "code": "PRESS-01",
                                                                "name": "Press 1", "ideal_cycle_seconds": 30}), 201)
    nc = open_nc(api, owner, machine["id"])
    capa = ok(api.post(CAPA, json={"title": "Burrs", "problem": "Burrs on the flange",
                                   "nonconformance_ids": [nc["id"]]}, headers=h), 201)
    # Distinct due dates: the line names the soonest, and the picture is the same on every run.
    for days, text in ((0, "Replace the worn deburring tool"), (1, "Train the night shift")):
        ok(api.post(f"{CAPA}/{capa['id']}/actions", headers=h, json={
            "description": text, "owner_id": owner.user_id, "due_date": (DUE + timedelta(days=days)).isoformat()}),
           201)
    return EMAIL


def test_dashboard_with_overdue_capa_actions(snap_compare, tmp_path, live_server, capa_plant) -> None:
    async def before(pilot) -> None:
        await signed_in(pilot, capa_plant, PASSWORD)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
        screen = pilot.app.screen
        line = screen.query_one(CapaDueLine)
        await until(pilot, lambda: len(screen.query(MachineTile)) == 1 and screen.last is not None
                    and bool(line.overdue), what="tiles and the CAPA line")
        screen.on_screen_suspend()  # stop polling: a later poll would rewrite the clock below
        await settle(pilot)
        screen.query_one("#dash-updated", Static).update("updated hh:mm:ss")  # the one moving text

    app = make_app(server=live_server.url, config_path=tmp_path / "client.json", outbox_dir=tmp_path / "outbox")
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
