"""SVG snapshots of the main screens at 80×24 and 160×48 (pytest-textual-snapshot).

The data is fixed (names, codes, no running shift) so the pictures do not change between
runs; the only moving text, the dashboard's "updated at" clock, is blanked before the
picture is taken. Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable, Input, Static, TabbedContent

from tests.accounts import PASSWORD, make_installation_admin, new_company
from tests.backup.support import installation_admin
from tests.tui.pilot import fill, settle, signed_in, until
from tui.app import make_app
from tui.screens.admin import AdminScreen
from tui.screens.connection_form import ConnectionForm
from tui.screens.dashboard import DashboardScreen
from tui.screens.join import JoinScreen
from tui.screens.machines import MachinesScreen
from tui.screens.mfa import MfaScreen
from tui.screens.operator import OperatorScreen
from tui.screens.planning import PlanningScreen
from tui.screens.reports import ReportsScreen
from tui.widgets.machine_tile import MachineTile

# The floor's 80×24 in the fast suite; the large terminal too in the full run (`slow`).
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48", marks=pytest.mark.slow)]


@dataclass(frozen=True)
class SnapshotPlant:
    owner_email: str
    operator_email: str


@pytest.fixture(scope="module")
def snapshot_plant(api: httpx.Client, app_engine) -> SnapshotPlant:
    owner_email, operator_email = "snap-owner@example.com", "snap-operator@example.com"
    h = new_company(api, "UTC", email=owner_email, name="Snapshot Works").headers
    make_installation_admin(app_engine, owner_email)  # as the installer's owner is: every admin tab
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


def _measured(table: DataTable) -> bool:
    """DataTable sizes its columns to their cells on an idle pass, which a busy machine runs
    late: until then the columns are only as wide as their labels."""
    for index, column in enumerate(table.ordered_columns):
        cells = table.get_column_at(index) if table.row_count else []
        widths = [cell_len(str(c)) for c in cells if isinstance(c, str | Text)]
        if widths and column.content_width < max(widths):
            return False
    return True


def _sized_to_content(table: DataTable) -> bool:
    """Every column exactly as wide as its widest cell or label (no wider, as after shorter texts
    replaced longer ones) and the scrollable width their sum."""
    total = 0
    for index, column in enumerate(table.ordered_columns):
        widths = [cell_len(str(c)) for c in table.get_column_at(index)] + [cell_len(column.label.plain)]
        if column.content_width != max(widths):
            return False
        total += column.get_render_width(table)
    return table.virtual_size.width == total


async def still(pilot) -> None:
    """Every worker done, every table measured and no blinking cursor: the picture is the
    same on every run."""
    def measured() -> bool:
        return all(_measured(t) for t in pilot.app.screen.query(DataTable))

    # A screen may reload a table once more after the first load (a filter that fills in late):
    # the picture is taken only once no worker runs and the tables stay measured for a moment.
    for _ in range(20):
        await settle(pilot)
        await until(pilot, measured, what="table widths")
        await pilot.pause(0.3)
        if measured() and not any(w.is_running for w in pilot.app.workers):
            break
    # DataTable caches rendered rows by its update count, not by column width: rows drawn before the
    # idle pass measured the columns stay label-wide in the picture (a busy machine or a second xdist
    # worker draws first more often). Drop those renders; the widths are final now.
    for table in pilot.app.screen.query(DataTable):
        table._clear_caches()  # noqa: SLF001
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def open_area(pilot, email: str, key: str, screen: type) -> None:
    """Sign in and open a start-menu area by its key."""
    await signed_in(pilot, email, PASSWORD)
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, screen), what=screen.__name__)


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
def test_join_with_invite(snap_compare, snap_app, size):
    async def before(pilot):
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(pilot.app.screen, JoinScreen), what="join screen")
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
        await open_area(pilot, snapshot_plant.operator_email, "1", OperatorScreen)
        await until(pilot, lambda: pilot.app.session.reference is not None, what="reference data")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "2", DashboardScreen)
        screen = pilot.app.screen
        await until(pilot, lambda: len(screen.query(MachineTile)) == 5 and screen.last is not None, what="tiles")
        screen.on_screen_suspend()  # stop polling: a later poll would rewrite the clock below
        await settle(pilot)
        screen.query_one("#dash-updated", Static).update("updated hh:mm:ss")  # the one moving text

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_users(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "5", AdminScreen)
        table = pilot.app.screen.query_one("#users-table")
        await until(pilot, lambda: table.row_count == 2, what="members")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_two_factor(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.operator_email, "6", MfaScreen)
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.fixture()
def fixed_clock_zone(monkeypatch):
    """Times on screen are local: pin the zone so the pictures match on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def open_admin_tab(pilot, email: str, key: str, tab: str) -> AdminScreen:
    await open_area(pilot, email, "5", AdminScreen)
    await pilot.press(key)
    screen = pilot.app.screen
    await until(pilot, lambda: screen.query_one(TabbedContent).active == tab, what=f"{tab} tab")
    return screen


@pytest.mark.parametrize("size", SIZES)
def test_reports(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "7", ReportsScreen)
        await until(pilot, lambda: pilot.app.screen.site is not None, what="sites")
        await settle(pilot)
        await fill(pilot, "#r-date", "2026-03-02")  # not today's date: the picture stays the same
        pilot.app.screen.query_one("#r-topic").focus()
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_license(snap_compare, snap_app, snapshot_plant, size, monkeypatch):
    monkeypatch.setenv("FACTORYOS_HOST_ID", "3f9c2a7e51d04b8a9e6f0c1d2b3a4e5f")  # read by the in-process server

    async def before(pilot):
        await open_admin_tab(pilot, snapshot_plant.owner_email, "f8", "license")
        await until(pilot, lambda: "Evaluation" in str(pilot.app.screen.query_one("#license-status").render()),
                    what="license status")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


BACKUPS = (
    ("factoryos-20260301T040000Z-scheduled", "scheduled", "2026-03-01T04:00:00Z", 48_234_496),
    ("factoryos-20260302T113000Z-before-upgrade", "before-upgrade", "2026-03-02T11:30:00Z", 49_807_360),
)


@pytest.mark.parametrize("size", SIZES)
def test_admin_backups(snap_compare, snap_app, ops_server, fixed_clock_zone, size):
    """On a server that can take backups, with two listed (manifests written here: fixed names and times)."""
    ops_server.backup_dir.mkdir(parents=True)
    for name, label, created, bytes_ in BACKUPS:
        (ops_server.backup_dir / f"{name}.dump").write_bytes(b"")
        (ops_server.backup_dir / f"{name}.json").write_text(json.dumps({
            "file": f"{name}.dump", "label": label, "factoryos_version": "0.1.0", "created_at": created,
            "database": "factoryos", "sha256": "0" * 64, "size": bytes_}))
    email = f"snap-ops-{uuid.uuid4().hex[:8]}@example.com"
    installation_admin(ops_server.server, new_company(ops_server.api, "UTC", email=email, name="Snapshot Works"))

    async def before(pilot):
        screen = await open_admin_tab(pilot, email, "f10", "backups")
        table = screen.query_one("#backups-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="backups listed")
        await still(pilot)

    assert snap_compare(snap_app(ops_server.url), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_system(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        screen = await open_admin_tab(pilot, snapshot_plant.owner_email, "f12", "system")
        table = screen.query_one("#system-table", DataTable)
        await until(pilot, lambda: table.row_count > 8, what="system rows")
        await settle(pilot)
        # What differs between runs and machines: free space, temporary paths, the test server's port,
        # the schema revision (it moves with every migration) and when the duty lock was taken.
        for row, text in (("disk", "n GiB free of n GiB"), ("data_dir", "/var/lib/factoryos"),
                          ("duties", "held since 2026-01-05 06:00 UTC"),
                          ("migrations", "at the newest revision (head)"),
                          ("backup_dir", "/var/lib/factoryos/backups, kept 14 days, backups unavailable"),
                          ("license_file", "/var/lib/factoryos/license.lic")):  # fmt: skip
            table.update_cell(row, "detail", text, update_width=True)
        table.update_cell("disk", "state", "OK", update_width=True)
        # The replaced texts are shorter than the originals (a temporary path is longer under xdist, and
        # its length varies with the run's number). Without `update_width` the column and the table's
        # scrollable width keep the longest text seen, and the scrollbar in the picture with them.
        # Wait until the table's idle pass sized both to what is shown now.
        await until(pilot, lambda: _sized_to_content(table), what="system table resized")
        screen.query_one("#system-summary", Static).update("[b]All parts OK[/b] · http://factory.lan:8080")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_machine_connection_form(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "3", MachinesScreen)
        table = pilot.app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 5, what="machines listed")
        table.focus()
        await pilot.press("down", "c")  # MILL-01, the second row (rows sort by code)
        await until(pilot, lambda: isinstance(pilot.app.screen, ConnectionForm), what="connection form")
        await fill(pilot, "#cf-modbus-endpoint-host", "10.0.0.21")
        for name, address in (("good", "100"), ("reject", "102"), ("state", "104")):
            await fill(pilot, f"#cf-modbus-signals-{name}-address", address)
        pilot.app.screen.query_one("#cf-protocol").focus()
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_machines(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "3", MachinesScreen)
        table = pilot.app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 5, what="machines listed")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_planning(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_area(pilot, snapshot_plant.owner_email, "4", PlanningScreen)
        await until(pilot, lambda: pilot.app.screen.sites, what="sites")
        # The plans arrive after the sites: wait for that table, then measure it.
        table = pilot.app.screen.query_one("#plans-table", DataTable)
        await until(pilot, lambda: table.row_count == 5, what="plans")
        stops = pilot.app.screen.query_one("#plan-stops-title", Static)
        await until(pilot, lambda: "next 7 days" in str(stops.render()), what="maintenance stops")
        await settle(pilot)
        await pilot.pause(0.2)
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_invites(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        await open_admin_tab(pilot, snapshot_plant.owner_email, "f6", "invites")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_admin_audit(snap_compare, snap_app, snapshot_plant, size):
    async def before(pilot):
        screen = await open_admin_tab(pilot, snapshot_plant.owner_email, "f7", "audit")
        table = screen.query_one("#audit-table", DataTable)
        await until(pilot, lambda: table.row_count > 0, what="audit rows")
        await settle(pilot)
        # The fixture's five machines: the same rows whichever tests signed in before.
        await fill(pilot, "#audit-action", "create")
        await fill(pilot, "#audit-entity", "machine")
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 5, what="the machines' create rows")
        await settle(pilot)
        # Only the moving parts are pinned: when each row was written and the ids of this run.
        for row in table.rows:
            table.update_cell(row, table.ordered_columns[0].key, "2026-03-02 06:00:00")
            table.update_cell(row, table.ordered_columns[3].key, "0f1e2d3c")
        await still(pilot)

    assert snap_compare(snap_app(), terminal_size=size, run_before=before)
