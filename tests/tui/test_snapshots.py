"""SVG snapshots of the main screens at 80×24 and 160×48 (pytest-textual-snapshot).

The data is fixed (names, codes, no running shift) so the pictures do not change between
runs; the only moving text, the dashboard's "updated at" clock, is blanked before the
picture is taken. Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from textual.widgets import Input, Static

from tests.tui.pilot import settle, signed_in, until
from tui.app import make_app
from tui.screens.admin import AdminScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.mfa import MfaScreen
from tui.screens.operator import OperatorScreen
from tui.widgets.machine_tile import MachineTile

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class SnapshotPlant:
    owner_email: str
    operator_email: str


@pytest.fixture(scope="module")
def snapshot_plant(api: httpx.Client) -> SnapshotPlant:
    owner_email, operator_email = "snap-owner@example.com", "snap-operator@example.com"
    token = api.post("/api/v1/auth/register", json={"email": owner_email, "password": PASSWORD}).json()["access_token"]
    r = api.post("/api/v1/setup/owner", headers={"Authorization": f"Bearer {token}"}, json={
        "display_name": "Olga Owner", "company_name": "Snapshot Works", "industry": "Metalworking",
        "company_size": "11-50", "city": "Linz", "default_currency": "EUR", "timezone": "UTC"})
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    site = api.post("/api/v1/sites", json={"name": "Main plant", "code": "MAIN", "timezone": "UTC"}, headers=h).json()
    line = api.post("/api/v1/lines", json={"site_id": site["id"], "name": "Line A", "code": "LINE-A"}, headers=h).json()
    for code, name in [("PRESS-01", "Press 1"), ("PRESS-02", "Press 2"), ("LATHE-01", "Lathe"), ("MILL-01", "Mill"),
                       ("WELD-01", "Welding cell")]:
        r = api.post("/api/v1/machines", headers=h, json={"site_id": site["id"], "line_id": line["id"], "code": code,
                                                          "name": name, "ideal_cycle_seconds": 30})
        assert r.status_code == 201, r.text
    code = api.post("/api/v1/invites", json={"role": "operator"}, headers=h).json()["code"]
    r = api.post("/api/v1/invites/accept", json={"code": code, "email": operator_email, "password": PASSWORD,
                                                  "display_name": "Sam Operator"})
    assert r.status_code == 201, r.text
    return SnapshotPlant(owner_email, operator_email)


async def still(pilot) -> None:
    """Every worker done and no blinking cursor: the picture is the same on every run."""
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.fixture()
def snap_app(tmp_path, live_server):
    def make(server: str | None = None):
        return make_app(server=server or live_server.url, config_path=tmp_path / "client.json",
                        outbox_dir=tmp_path / "outbox")
    return make


@pytest.mark.parametrize("size", SIZES)
def test_login(snap_compare, snap_app, size):
    async def before(pilot):
        await pilot.pause()
        await still(pilot)

    assert snap_compare(snap_app("https://factory.example:8443"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_home(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await signed_in(pilot, snapshot_plant.owner_email, PASSWORD)
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_operator(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await signed_in(pilot, snapshot_plant.operator_email, PASSWORD)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(pilot.app.screen, OperatorScreen), what="operator screen")
        await until(pilot, lambda: pilot.app.session.reference is not None, what="reference data")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await signed_in(pilot, snapshot_plant.owner_email, PASSWORD)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="dashboard")
        screen = pilot.app.screen
        await until(pilot, lambda: len(screen.query(MachineTile)) == 5 and screen.last is not None, what="tiles")
        screen.on_screen_suspend()  # stop polling: a later poll would rewrite the clock below
        await settle(pilot)
        screen.query_one("#dash-updated", Static).update("updated hh:mm:ss")  # the one moving text

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_users(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await signed_in(pilot, snapshot_plant.owner_email, PASSWORD)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin")
        table = pilot.app.screen.query_one("#users-table")
        await until(pilot, lambda: table.row_count == 2, what="members")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_two_factor(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await signed_in(pilot, snapshot_plant.operator_email, PASSWORD)
        await pilot.press("6")
        await until(pilot, lambda: isinstance(pilot.app.screen, MfaScreen), what="mfa screen")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)
