"""The Reports screen downloads real reports from the real server into the file the user names."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import openpyxl
from pypdf import PdfReader
from textual.widgets import Input, Select

from tests.tui.pilot import fill, noted, signed_in, text_of, until
from tui.screens.reports import ReportsScreen, target_path


async def open_reports(pilot, world) -> ReportsScreen:
    await signed_in(pilot, world.owner.email, world.password)
    await pilot.press("7")
    await until(pilot, lambda: isinstance(pilot.app.screen, ReportsScreen), what="reports screen")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.site is not None and bool(screen.patterns), what="site and shifts loaded")
    return screen


async def test_download_a_shift_report_as_pdf_and_a_day_as_xlsx(app_factory, world, tmp_path):
    today = datetime.now(UTC).date().isoformat()
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot, world)
        assert screen.query_one("#r-date", Input).value == today  # the site's today (UTC here)
        suggested = screen.query_one("#r-path", Input).value
        assert suggested == f"production-{world.site['code']}-{today}.pdf"

        screen.query_one("#r-period", Select).value = "shift"
        await pilot.pause()
        assert screen.query_one("#r-path", Input).value == f"production-{world.site['code']}-{today}-Day.pdf"
        pdf = tmp_path / "shift.pdf"
        await fill(pilot, "#r-path", str(pdf))
        await pilot.press("ctrl+s")
        await noted(pilot, "Report saved")
        reader = PdfReader(io.BytesIO(pdf.read_bytes()))
        assert pdf.read_bytes().startswith(b"%PDF") and len(reader.pages) >= 1
        assert world.site["name"] in reader.pages[0].extract_text()

        # A folder gets the suggested name; the format follows the choice.
        screen.query_one("#r-period", Select).value = "day"
        screen.query_one("#r-topic", Select).value = "machines"
        screen.query_one("#r-format", Select).value = "xlsx"
        await fill(pilot, "#r-path", str(tmp_path) + "/")
        await pilot.press("ctrl+s")
        await noted(pilot, f"machines-{world.site['code']}-{today}.xlsx")
    xlsx = tmp_path / f"machines-{world.site['code']}-{today}.xlsx"
    assert zipfile.is_zipfile(xlsx)
    workbook = openpyxl.load_workbook(xlsx, read_only=True)
    assert len(workbook.sheetnames) >= 1
    assert not list(tmp_path.glob(".*.part"))  # no partial download left behind


async def test_bad_input_is_said_under_its_field_not_a_traceback(app_factory, world, tmp_path):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(pilot, world)
        await fill(pilot, "#r-path", str(tmp_path / "missing" / "report.pdf"))
        await pilot.press("ctrl+s")
        assert "does not exist" in text_of(pilot, "#r-path-error")
        assert app.focused is screen.query_one("#r-path", Input)

        await fill(pilot, "#r-path", str(tmp_path / "r.pdf"))
        await fill(pilot, "#r-date", "2. März")
        await pilot.press("ctrl+s")
        assert "Date: use YYYY-MM-DD" in text_of(pilot, "#r-date-error")
        assert text_of(pilot, "#r-path-error") == ""  # the fixed field's line is gone
        assert app.focused is screen.query_one("#r-date", Input)

        # The server refuses a shift that does not exist: its reason is said under the shift.
        await fill(pilot, "#r-date", "2026-03-02")
        screen.query_one("#r-period", Select).value = "shift"
        await pilot.pause()
        screen.patterns = []
        screen.query_one("#r-shift", Select).set_options([("Night", "Night")])
        screen.query_one("#r-shift", Select).value = "Night"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "has no shift 'Night'" in text_of(pilot, "#r-shift-error"), what="refusal")
        assert isinstance(app.screen, ReportsScreen) and not (tmp_path / "r.pdf").exists()


def test_target_path_rules(tmp_path):
    assert target_path(str(tmp_path), "a.pdf") == tmp_path / "a.pdf"
    assert target_path(str(tmp_path / "b.xlsx"), "a.pdf") == tmp_path / "b.xlsx"
    for bad in ("", str(tmp_path / "nope" / "x.pdf")):
        try:
            target_path(bad, "a.pdf")
        except Exception as exc:  # noqa: BLE001 - the type is asserted below
            assert type(exc).__name__ == "ClientError"
        else:
            raise AssertionError(f"{bad!r} accepted")


async def test_help_contrast_and_escape_on_the_new_screens(app_factory, world, app_engine):
    from textual.widgets import Markdown

    from tests.accounts import make_installation_admin

    make_installation_admin(app_engine, world.owner.email)  # every admin tab, Backups included

    from tui.screens.admin import AdminScreen
    from tui.screens.help import HelpScreen
    from tui.screens.home import HomeScreen
    from tui.theme import HIGH_CONTRAST

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(pilot, world)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        keys = str(app.screen.query_one("#help-keys").render())
        assert "Ctrl+S" in app.screen.query_one(Markdown).source and "^s" in keys
        await pilot.press("escape")
        await pilot.press("f9")
        assert app.theme == HIGH_CONTRAST
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="back home")

        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin")
        for key, words in (("f8", "activate one"), ("f10", "takes a backup now"), ("f12", "health")):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
            assert words in app.screen.query_one(Markdown).source, key
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="help closed")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="back home")
