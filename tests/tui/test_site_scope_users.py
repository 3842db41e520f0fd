"""The admin Users pane shows each member's sites and limits one to some sites (80×24, real server)."""

from __future__ import annotations

from textual.widgets import DataTable, SelectionList

from tests.production import plant
from tests.tui.pilot import signed_in, until
from tui.screens.admin import AdminScreen
from tui.widgets.field_error import FieldError
from tui.widgets.member_sites import MemberSitesDialog


async def _open_sites_of(pilot, world, user_id: str) -> DataTable:
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin screen")
    table = pilot.app.screen.query_one("#users-table", DataTable)
    await until(pilot, lambda: table.row_count == 2, what="members listed")
    assert str(table.get_row(user_id)[4]) == "all sites"
    table.focus()
    table.move_cursor(row=table.get_row_index(user_id))
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, MemberSitesDialog), what="sites dialog")
    return table


def _tick(dialog: MemberSitesDialog, site_id: str) -> SelectionList:
    sites = dialog.query_one("#member-sites", SelectionList)
    sites.focus()
    sites.highlighted = [sites.get_option_at_index(i).value for i in range(sites.option_count)].index(site_id)
    return sites


async def test_limit_a_member_to_one_site_and_give_every_site_back(app_factory, world, api):
    second = plant.site(api, world.owner, timezone="UTC", name="North plant", code="NORTH")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _open_sites_of(pilot, world, world.operator.user_id)
        _tick(app.screen, second["id"])
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="dialog closed")
        await until(pilot, lambda: str(table.get_row(world.operator.user_id)[4]) == "NORTH", what="table updated")
        member = api.get(f"/api/v1/users/{world.operator.user_id}", headers=world.owner.headers).json()
        assert member["site_ids"] == [second["id"]]
        # The operator now sees only that site.
        sites = api.get("/api/v1/sites", headers=world.operator.headers).json()["items"]
        assert [s["id"] for s in sites] == [second["id"]]
        # Untick it: none ticked gives every site back.
        table.focus()
        table.move_cursor(row=table.get_row_index(world.operator.user_id))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, MemberSitesDialog), what="sites dialog again")
        _tick(app.screen, second["id"])
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: str(table.get_row(world.operator.user_id)[4]) == "all sites", what="cleared")
    assert api.get(f"/api/v1/users/{world.operator.user_id}", headers=world.owner.headers).json()["site_ids"] is None


async def test_a_refused_change_is_shown_under_the_list(app_factory, world, api):
    doomed = plant.site(api, world.owner, timezone="UTC", name="Closed plant", code="GONE")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_sites_of(pilot, world, world.operator.user_id)
        dialog = app.screen
        assert api.delete(f"/api/v1/sites/{doomed['id']}", headers=world.owner.headers).status_code == 204
        _tick(dialog, doomed["id"])
        await pilot.press("space")
        await pilot.press("ctrl+s")
        error = dialog.query_one("#member-sites-error", FieldError)
        await until(pilot, lambda: error.has_class("-shown"), what="error shown")
        assert "no site" in str(error.render()) and isinstance(app.screen, MemberSitesDialog)


async def test_certify_a_member_for_one_machine_and_lift_it(app_factory, world, api):
    """K on a member: tick the machines they are certified for; they then see only those."""
    from tui.widgets.member_machines import MemberMachinesDialog

    first, second = world.machines[0], world.machines[1]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin screen")
        table = app.screen.query_one("#users-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="members listed")
        user = world.operator.user_id

        async def open_dialog() -> MemberMachinesDialog:
            table.focus()
            table.move_cursor(row=table.get_row_index(user))
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, MemberMachinesDialog), what="machines dialog")
            return app.screen

        dialog = await open_dialog()
        machines = dialog.query_one("#member-machines", SelectionList)
        values = [machines.get_option_at_index(i).value for i in range(machines.option_count)]
        assert set(values) == {first["id"], second["id"]}
        assert machines.region.bottom <= 24 and dialog.query_one("#save").region.bottom <= 24
        machines.focus()
        machines.highlighted = values.index(first["id"])
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="dialog closed")
        await until(pilot, lambda: "1 machine" in str(table.get_row(user)[4]), what="table updated")
        assert api.get(f"/api/v1/users/{user}", headers=world.owner.headers).json()["machine_ids"] == [first["id"]]
        seen = api.get("/api/v1/machines", headers=world.operator.headers).json()["items"]
        assert [m["id"] for m in seen] == [first["id"]]

        # Untick it: none ticked lifts the limit.
        dialog = await open_dialog()
        machines = dialog.query_one("#member-machines", SelectionList)
        assert list(machines.selected) == [first["id"]]
        machines.focus()
        machines.highlighted = values.index(first["id"])
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "machine" not in str(table.get_row(user)[4]), what="limit lifted")
    assert api.get(f"/api/v1/users/{user}", headers=world.owner.headers).json()["machine_ids"] is None
    assert len(api.get("/api/v1/machines", headers=world.operator.headers).json()["items"]) == 2
