"""The company setup wizard end to end against the real server: an owner imports a CSV with a
bad row, skips it, adds a machine, reviews roles, invites, leaves half-way, resumes, finishes."""

from __future__ import annotations

import re

from textual.widgets import Checkbox, DataTable, Static

from tests.accounts import join, new_company
from tests.tui.pilot import fill, settle, signed_in, text_of, until
from tui.screens.admin import AdminScreen
from tui.screens.home import HomeScreen
from tui.screens.machines import MachinesScreen
from tui.screens.onboarding import OnboardingScreen

PASSWORD = "correct horse battery"
CSV = (
    "Order No;Item;Qty;Due date;Customer\n"
    "WO-1001;Bracket;1200;2026-09-01;Acme\n"
    "WO-1002;Hinge;lots;2026-09-02;Acme\n"
    "WO-1003;Flange;40;03.09.2026;\n"
)


def _state(api, owner) -> dict:
    return api.get("/api/v1/onboarding", headers=owner.headers).json()


def _jobs(api, owner) -> list[str]:
    return sorted(j["job_number"] for j in api.get("/api/v1/jobs", headers=owner.headers).json()["items"])


async def _open_wizard(pilot) -> OnboardingScreen:
    await pilot.press("0")
    await until(pilot, lambda: isinstance(pilot.app.screen, OnboardingScreen), what="wizard")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.showing is not None, what="wizard state")
    await settle(pilot)
    return screen


async def _next(pilot, screen: OnboardingScreen, step: str) -> None:
    await pilot.press("f4")
    await until(pilot, lambda: screen.showing == step, what=f"step {step}")
    await settle(pilot)


async def test_owner_runs_the_wizard_end_to_end_and_resumes_after_leaving(app_factory, api, tmp_path):
    owner = new_company(api, timezone="UTC")
    jobs_file = tmp_path / "erp-export.csv"
    jobs_file.write_text(CSV, encoding="utf-8")

    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        banner = pilot.app.screen.query_one("#home-onboarding", Static)
        await until(pilot, lambda: banner.display, what="setup banner")
        assert "Press 0 to start" in str(banner.render())
        screen = await _open_wizard(pilot)
        assert screen.showing == "connect_erp"

        # Connect ERP: preview the file; the bad row is listed with its problem.
        await pilot.press("f4")
        await settle(pilot)
        assert screen.showing == "connect_erp"  # nothing previewed yet: Next refuses
        await fill(pilot, "#erp-path", str(jobs_file))
        await pilot.press("enter")
        rows = screen.query_one("#erp-table .preview-rows", DataTable)
        await until(pilot, lambda: rows.row_count == 3, what="preview rows")
        errors = screen.query_one("#erp-table .preview-errors", DataTable)
        assert errors.row_count == 1 and errors.get_row_at(0)[:2] == ["3", "Qty"]
        assert "'lots' is not a number" in errors.get_row_at(0)[2]
        assert [rows.get_row_at(i)[1] for i in range(3)] == ["✓", "✗", "✓"]
        assert _jobs(api, owner) == []  # a preview imports nothing

        # Import Jobs: refused while the bad row is in, imported once it is explicitly skipped.
        await _next(pilot, screen, "import_jobs")
        assert _state(api, owner)["current_step"] == "import_jobs"
        skip = screen.query_one("#import-skip", Checkbox)
        assert skip.has_focus and not skip.value
        screen.query_one("#import-run").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert _jobs(api, owner) == []
        skip.focus()
        await pilot.press("space")
        assert skip.value
        screen.query_one("#import-run").focus()
        await pilot.press("enter")
        result = screen.query_one("#import-result", Static)
        await until(pilot, lambda: "Imported 2 jobs" in str(result.render()), what="import result")
        assert "1 row with errors skipped" in str(result.render())
        assert _jobs(api, owner) == ["WO-1001", "WO-1003"]
        await settle(pilot)
        state = _state(api, owner)
        assert state["steps"][1]["status"] == "done" and state["steps"][1]["data"]["imported"] == 2

        # Configure Machines: a company without a site gets one with its first machine.
        await _next(pilot, screen, "configure_machines")
        assert screen.query_one("#wm-site-row").display
        await fill(pilot, "#wm-site-code", "MAIN")
        await fill(pilot, "#wm-site-name", "Main plant")
        await fill(pilot, "#wm-code", "PRESS-01")
        await fill(pilot, "#wm-name", "Press 1")
        await fill(pilot, "#wm-cycle", "30")
        await pilot.press("enter")
        table = screen.query_one("#wm-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, what="machine listed")
        assert table.get_row_at(0)[:3] == ["PRESS-01", "Press 1", "MAIN"]
        await settle(pilot)
        await pilot.press("f6")  # the full Machines screen, and back
        await until(pilot, lambda: isinstance(pilot.app.screen, MachinesScreen), what="machines screen")
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen, what="back in the wizard")
        await settle(pilot)
        assert screen.showing == "configure_machines" and table.row_count == 1

        # Set Up Roles, then leave half-way.
        await _next(pilot, screen, "setup_roles")
        roles_widget = screen.query_one("#wr-table", Static)
        roles = "\n".join(strip.text for strip in roles_widget.render_lines(roles_widget.region.reset_offset))
        assert "Plant Manager" in roles and "Read-Only" in roles and "production entry+plan" in roles
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(pilot.app.screen, AdminScreen), what="admin screen")
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen, what="back in the wizard")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), what="home")
        banner = pilot.app.screen.query_one("#home-onboarding", Static)
        await until(pilot, lambda: "step 4 of 6 (Set Up Roles)" in str(banner.render()), what="banner updated")

    assert _state(api, owner)["current_step"] == "setup_roles"

    # Another terminal, signed in again: the wizard resumes at the saved step.
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        screen = await _open_wizard(pilot)
        assert screen.showing == "setup_roles"
        assert "step 4 of 6: Set Up Roles" in str(screen.query_one("#wizard-steps", Static).render())

        await _next(pilot, screen, "invite_team")
        await pilot.press("f4")  # no invite yet: Next refuses
        await settle(pilot)
        assert screen.showing == "invite_team"
        screen.query_one("#wi-create").focus()
        await pilot.press("enter")
        code_box = screen.query_one("#wi-code", Static)
        await until(pilot, lambda: code_box.display, what="invite code")
        code = str(code_box.render()).strip().replace(" ", "")
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
        assert "Operator" in str(screen.query_one("#wi-hint", Static).render())

        await _next(pilot, screen, "complete")
        summary = str(screen.query_one("#wc-summary", Static).render())
        assert "2 jobs imported, 1 skipped" in summary and "1 machine\n" in summary and "1 invite created" in summary
        assert _state(api, owner)["completed"] is True
        await pilot.press("enter")  # Finish has focus
        await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), what="home")
        banner = pilot.app.screen.query_one("#home-onboarding", Static)
        await settle(pilot)
        assert not banner.display

    r = api.post("/api/v1/invites/accept", json={"code": code, "email": f"new-{code}@example.com",
                                                  "password": PASSWORD, "display_name": "New Hire"})
    assert r.status_code == 201 and r.json()["company"]["role"] == "operator"


async def test_skipping_steps_is_saved_and_skipped_steps_show_as_such(app_factory, api):
    owner = new_company(api, timezone="UTC")
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        screen = await _open_wizard(pilot)
        for step in ("import_jobs", "configure_machines", "setup_roles"):
            await pilot.press("f3")
            await until(pilot, lambda s=step: screen.showing == s, what=step)
        await pilot.press("f2")
        await until(pilot, lambda: screen.showing == "configure_machines", what="back one step")
        await settle(pilot)
    state = _state(api, owner)
    assert state["current_step"] == "configure_machines"
    assert [s["status"] for s in state["steps"]][:4] == ["skipped", "skipped", "skipped", "pending"]


async def test_members_who_may_not_change_the_setup_see_neither_menu_nor_banner(app_factory, api):
    owner = new_company(api, timezone="UTC")
    manager = join(api, owner, "plant_manager")
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, manager.email, PASSWORD)
        await settle(pilot)
        home = pilot.app.screen
        assert not home.query("#menu-0") and not home.query_one("#home-onboarding").display
        await pilot.press("0")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HomeScreen)


async def test_an_unreadable_path_is_said_in_the_step(app_factory, api, tmp_path):
    owner = new_company(api, timezone="UTC")
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        screen = await _open_wizard(pilot)
        await fill(pilot, "#erp-path", str(tmp_path / "missing.csv"))
        await pilot.press("enter")
        await until(pilot, lambda: "no file" in text_of(pilot, "#erp-message"), what="message")
        (tmp_path / "notes.csv").write_text("Name,Colour\nx,y\n")
        await fill(pilot, "#erp-path", str(tmp_path / "notes.csv"))
        await pilot.press("enter")
        await until(pilot, lambda: "no column for" in text_of(pilot, "#erp-message"), what="columns message")
        assert screen.upload is None


async def test_a_company_without_a_site_types_the_site_first_then_the_machine(app_factory, api):
    """Keyboard only: the first site's fields come first, and Tab walks down to Add."""
    owner = new_company(api, timezone="UTC")
    api.put("/api/v1/onboarding", json={"current_step": "configure_machines"}, headers=owner.headers)
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        screen = await _open_wizard(pilot)
        assert screen.showing == "configure_machines"
        order = [pilot.app.focused.id]
        for _ in range(6):
            await pilot.press("tab")
            order.append(pilot.app.focused.id)
        assert order == ["wm-site-code", "wm-site-name", "wm-site-tz", "wm-code", "wm-name", "wm-cycle", "wm-add"]
