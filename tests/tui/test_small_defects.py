"""Small defects found by new users (issue 21): the palette icon, the wizard's "complete",
the join screen's email, and the browser's fixed server, each through the real screens."""

from __future__ import annotations

from textual.widgets import Input
from textual.widgets._header import HeaderIcon

from factoryos.client import save_profile
from factoryos.client.profile import ClientProfile
from tests.accounts import new_company
from tests.tui.pilot import fill, settle, signed_in, text_of, until
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.join import JoinScreen
from tui.screens.login import LoginScreen
from tui.screens.onboarding import OnboardingScreen
from tui.widgets.step_bar import StepBar

PASSWORD = "correct horse battery"


async def test_no_command_palette_icon_while_the_palette_is_off(app_factory, world):
    app = app_factory()
    assert app.ENABLE_COMMAND_PALETTE is False
    async with app.run_test(size=(80, 24)) as pilot:
        for screen in (LoginScreen, HomeScreen):
            if screen is HomeScreen:
                await signed_in(pilot, world.operator.email, world.password)
            icon = app.screen.query_one(HeaderIcon)
            assert str(icon.render()) == "" and icon.disabled
            assert "⭘" not in "".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_a_setup_finished_early_says_which_steps_are_open_not_complete(app_factory, api):
    owner = new_company(api, timezone="UTC")
    # Finished straight away (the API allows it): nothing was done or skipped.
    r = api.put("/api/v1/onboarding", json={"current_step": "complete"}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["completed"]
    async with app_factory().run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        await pilot.press("0")
        await until(pilot, lambda: isinstance(pilot.app.screen, OnboardingScreen), what="wizard")
        screen = pilot.app.screen
        await until(pilot, lambda: screen.showing == "complete", what="the complete step")
        await settle(pilot)
        header = str(screen.query_one(StepBar).render())
        title = str(screen.query_one("#wc-title").render())
        summary = str(screen.query_one("#wc-summary").render())
    assert summary.count("○ open") == 5
    assert "setup complete" not in header and "setup finished, 5 steps still open" in header
    assert "is set up" not in title and "5 steps still open" in title


async def test_the_join_screen_does_not_offer_the_previous_users_email(app_factory, world, live_server, tmp_path):
    save_profile(tmp_path / "client.json", ClientProfile(server=live_server.url, email=world.operator.email))
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.query_one("#email", Input).value == world.operator.email  # the sign-in remembers it
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, JoinScreen), what="join screen")
        assert app.screen.query_one("#join-email", Input).value == ""
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="sign-in again")
        # An address the newcomer typed themselves is carried over.
        await fill(pilot, "#email", "nina@example.com")
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, JoinScreen), what="join screen")
        assert app.screen.query_one("#join-email", Input).value == "nina@example.com"


async def test_in_the_browser_the_server_is_shown_but_cannot_be_changed(app_factory, world, live_server):
    app = app_factory(server_fixed=True)
    async with app.run_test(size=(80, 24)) as pilot:
        server = app.screen.query_one("#server", Input)
        assert server.value == live_server.url and server.disabled
        assert app.screen.focused is app.screen.query_one("#email")
        # Shift+Tab from the email skips the server field: it can never take the focus.
        await pilot.press("shift+tab")
        assert app.screen.focused is not server
        server.value = "https://elsewhere.example"  # even if it were changed, it is not used
        await signed_in(pilot, world.operator.email, world.password)
        assert app.session is not None and app.session.api.server == live_server.url


async def test_the_help_lists_this_apps_keys_not_textuals_inherited_ones(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        keys = text_of(pilot, "#help-keys")
    assert "Operator input" in keys and "Sign out" in keys and "High-contrast" in keys
    # Before: "tab Focus Next", "shift+tab Focus Previous" and "Copy selected text" twice (^c, super+c).
    assert "Focus Next" not in keys and "Copy selected text" not in keys
