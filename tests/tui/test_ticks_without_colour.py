"""Ticked and unticked boxes differ in what they show, not only in colour."""

from __future__ import annotations

from textual.widgets import DataTable, SelectionList

from tests.tui.pilot import signed_in, until
from tui.screens.admin import AdminScreen
from tui.screens.permissions import PermissionsDialog


def boxes(flags: SelectionList) -> dict[str, str]:
    """Each permission's box as the terminal shows it: the character between ▐ and ▌."""
    shown = {}
    for y in range(flags.option_count):
        text = flags.render_line(y).text
        shown[text[4:].split()[0]] = text[1]
    return shown


async def on_the_operator(pilot, world) -> None:
    """Signed in as the owner, Admin's member list, the cursor on the operator."""
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin screen")
    table = pilot.app.screen.query_one("#users-table", DataTable)
    await until(pilot, lambda: table.row_count >= 2, what="members")
    table.focus()
    table.move_cursor(row=table.get_row_index(world.operator.user_id))


async def test_the_permissions_dialog_shows_a_tick_only_on_what_the_member_may_do(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 40)) as pilot:  # tall enough to draw every permission
        await on_the_operator(pilot, world)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PermissionsDialog), what="permissions dialog")
        flags = app.screen.query_one("#flags", SelectionList)
        await pilot.pause()
        shown = boxes(flags)
        assert shown["production.entry"] == "✓"  # an operator's own
        assert shown["admin.system"] == " " and shown["permissions.manage"] == " "

        flags.focus()
        flags.highlighted = list(shown).index("admin.system")
        await pilot.press("space")
        await pilot.pause()
        assert boxes(flags)["admin.system"] == "✓"


async def test_the_sites_of_a_member_and_the_days_of_a_shift_tick_the_same_way(app_factory, world):
    from tui.screens.plan_forms import ShiftForm
    from tui.screens.planning import PlanningScreen
    from tui.widgets.member_sites import MemberSitesDialog

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await on_the_operator(pilot, world)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, MemberSitesDialog), what="sites dialog")
        sites = app.screen.query_one("#member-sites", SelectionList)
        await pilot.pause()
        assert sites.render_line(0).text[1] == " "  # all sites: none ticked
        sites.focus()
        await pilot.press("space")
        await pilot.pause()
        assert sites.render_line(0).text[1] == "✓"
        await pilot.press("escape", "escape")

        await until(pilot, lambda: not isinstance(app.screen, (MemberSitesDialog, AdminScreen)), what="home")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, PlanningScreen), what="planning")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ShiftForm), what="shift form")
        days = app.screen.query_one("#s-days", SelectionList)
        await pilot.pause()
        shown = {days.render_line(y).text[4:7]: days.render_line(y).text[1] for y in range(7)}
        assert shown == {"Mon": "✓", "Tue": "✓", "Wed": "✓", "Thu": "✓", "Fri": "✓", "Sat": " ", "Sun": " "}


async def test_a_tick_box_shows_a_tick_only_when_ticked() -> None:
    """The import's "Skip the rows with errors" and MQTT's "Publishing on": Textual's Checkbox
    draws an X whether ticked or not."""
    from textual.app import App

    from tui.widgets.tick_list import TickBox

    class One(App[None]):
        def compose(self):
            yield TickBox("Skip the rows with errors", id="box")

    app = One()
    async with app.run_test(size=(40, 3)) as pilot:
        box = app.query_one("#box", TickBox)
        assert str(box.render()).startswith("▐ ▌ Skip the rows")
        box.focus()
        await pilot.press("space")
        assert box.value and str(box.render()).startswith("▐✓▌ Skip the rows")
