"""Admin tabs for admin.system against a real server on its own database: activate a license,
take a backup and restore it (typing its name), and read the server's health."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from textual.widgets import Button, DataTable, Static, TabbedContent

from tests.accounts import join
from tests.backup.support import installation_admin, signed_license
from tests.production import plant
from tests.tui.conftest import build_plant
from tests.tui.pilot import fill, noted, signed_in, text_of, until
from tui.screens.admin import AdminScreen
from tui.screens.restore_confirm import RestoreConfirm
from tui.widgets.backups_pane import BackupsPane


async def open_tab(pilot, world, key: str, tab: str) -> AdminScreen:
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin screen")
    await pilot.press(key)
    screen = pilot.app.screen
    await until(pilot, lambda: screen.query_one(TabbedContent).active == tab, what=f"{tab} tab")
    return screen


async def test_activate_a_license_from_a_file_and_refuse_a_forged_key(app_factory, ops_server, vendor_key, tmp_path):
    world = build_plant(ops_server.api)
    installation_admin(ops_server.server, world.owner)
    lic = tmp_path / "acme.lic"
    key = signed_license(vendor_key, machines=40, users=9, sites=3, license_id="L-TUI")
    lic.write_text(f"# FactoryOS license for Acme Metal\n{key}\n")
    app = app_factory(ops_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, world, "f8", "license")
        await until(pilot, lambda: "Evaluation" in text_of(pilot, "#license-status"), what="license status")
        assert "2/50 machines" in text_of(pilot, "#license-status")

        forged = signed_license(Ed25519PrivateKey.generate(), machines=1000)
        await fill(pilot, "#license-key", forged)
        await pilot.press("enter")
        assert "signature does not match" in await noted(pilot, "Not saved")
        assert "Evaluation" in text_of(pilot, "#license-status")

        await fill(pilot, "#license-key", str(lic))
        await pilot.press("enter")
        await noted(pilot, "License activated")
        status = text_of(pilot, "#license-status")
        assert "Licensed" in status and "Acme Metal" in status and "2/40 machines" in status and "L-TUI" in status
    info = ops_server.api.get("/api/v1/system/license", headers=world.owner.headers).json()
    assert info["status"] == "licensed" and info["license_id"] == "L-TUI"
    assert (ops_server.data_dir / "license.lic").read_text().splitlines()[-1] == lic.read_text().splitlines()[-1]


# A real restore of the island's database: slow. The fast suite keeps the restore over the API
# (tests/backup/test_restore_api.py) and this dialog's typed-name check (cancel, below).
@pytest.mark.slow
async def test_take_a_backup_and_restore_it_with_the_typed_name(app_factory, ops_server):
    world = build_plant(ops_server.api)
    installation_admin(ops_server.server, world.owner)
    app = app_factory(ops_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tab(pilot, world, "f10", "backups")
        pane = screen.query_one(BackupsPane)
        table = screen.query_one("#backups-table", DataTable)
        await until(pilot, lambda: pane.listing is not None, what="backup list")
        assert table.row_count == 0
        await pilot.press("n")
        await noted(pilot, "Backed up")
        await until(pilot, lambda: table.row_count == 1, what="backup listed")
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

        late = plant.machine(ops_server.api, world.owner, world.site["id"], code="LATE-01")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RestoreConfirm), what="confirm dialog")
        dialog = app.screen
        await fill(pilot, "#restore-name", name[:-1])
        assert dialog.query_one("#restore-yes", Button).disabled
        await pilot.press("enter")
        await noted(pilot, "does not match")
        assert isinstance(app.screen, RestoreConfirm)
        await fill(pilot, "#restore-name", name)
        assert not dialog.query_one("#restore-yes", Button).disabled
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="dialog closed")
        await noted(pilot, f"Restored {name}", timeout=180)
        assert pane.job is not None and pane.job.state == "succeeded"
    ids = {m["id"] for m in ops_server.api.get("/api/v1/machines", headers=world.owner.headers).json()["items"]}
    assert late["id"] not in ids and {m["id"] for m in world.machines} <= ids


async def test_cancel_a_restore_changes_nothing(app_factory, ops_server):
    world = build_plant(ops_server.api)
    installation_admin(ops_server.server, world.owner)
    made = ops_server.api.post("/api/v1/backup/create", json={}, headers=world.owner.headers).json()
    late = plant.machine(ops_server.api, world.owner, world.site["id"], code="KEEP-01")
    app = app_factory(ops_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tab(pilot, world, "f10", "backups")
        table = screen.query_one("#backups-table", DataTable)
        await until(pilot, lambda: table.row_count >= 1, what="backups listed")
        table.move_cursor(row=table.get_row_index(made["name"]))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RestoreConfirm), what="confirm dialog")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="dialog closed")
        assert screen.query_one(BackupsPane).job is None
    ids = {m["id"] for m in ops_server.api.get("/api/v1/machines", headers=world.owner.headers).json()["items"]}
    assert late["id"] in ids


async def test_system_tab_shows_health_and_settings(app_factory, ops_server):
    world = build_plant(ops_server.api)
    installation_admin(ops_server.server, world.owner)
    app = app_factory(ops_server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_tab(pilot, world, "f12", "system")
        table = screen.query_one("#system-table", DataTable)
        await until(pilot, lambda: table.row_count > 8, what="system rows")
        rows = {key: table.get_row(key) for key in ("server", "database", "migrations", "poller", "backup",
                                                   "license", "data_dir", "backup_dir")}  # fmt: skip
        assert rows["server"][1] == "OK" and rows["database"][1] == "OK" and rows["migrations"][1] == "OK"
        assert "database factoryos" in rows["database"][2]
        assert rows["poller"][1] == "—" and rows["poller"][2] == "off in this server"
        assert rows["backup"][2].startswith("none yet, not scheduled")
        assert rows["license"][1] == "—" and rows["license"][2].startswith("evaluation, Core")
        assert rows["data_dir"][2] == str(ops_server.data_dir)
        assert rows["backup_dir"][2].startswith(str(ops_server.backup_dir))
        summary = str(screen.query_one("#system-summary", Static).render())
        assert ops_server.url in summary and ("All parts OK" in summary) == (table.get_row("disk")[1] != "PROBLEM")


async def test_admin_system_tabs_are_hidden_without_the_permission(app_factory, world, api):
    manager = join(api, world.owner, "plant_manager")  # audit.view, but not admin.system
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, manager.email, world.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        assert app.screen.query("TabPane#audit")
        for tab in ("license", "backups", "system"):
            assert not app.screen.query(f"TabPane#{tab}")
        await pilot.press("f8")
        await noted(pilot, "Your role does not include this")


async def test_an_owner_who_is_not_an_installation_admin_sees_no_backups(app_factory, world):
    # Any registered account can found a company: its owner must not restore everyone's data.
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tab(pilot, world, "f8", "license")
        await until(pilot, lambda: "Loading" not in text_of(pilot, "#license-status"), what="license status")
        assert "installation administrator" in text_of(pilot, "#license-note")
        assert not screen.query("#license-activate") and screen.query("TabPane#system")
        assert not screen.query("TabPane#backups")
        await pilot.press("f10")
        await noted(pilot, "Your role does not include this")
