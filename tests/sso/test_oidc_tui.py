"""The TUI's device sign-in screen at 80×24 against the real server and provider: it shows the
provider, the page, the code and a QR code, waits, and closes signed in once the person has
signed in on their phone; a refusal is said in words at the screen."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App

from factoryos.client import FactoryClient
from tests.sso.oidc_support import USERS, Person
from tests.tui.pilot import text_of, until
from tui.screens.sso_device import SsoDeviceScreen

pytestmark = pytest.mark.slow


class Host(App[None]):
    def __init__(self, api: FactoryClient, email: str) -> None:
        super().__init__()
        self.api, self.email = api, email
        self.result: object = "open"

    def on_mount(self) -> None:
        self.push_screen(SsoDeviceScreen(self.api, email=self.email), self._done)

    def _done(self, result: object) -> None:
        self.result = result


def approve(link: str, user: str, allow: bool = True) -> None:
    person = Person(user)
    try:
        person.visit(link, allow=allow)
    finally:
        person.close()


async def test_device_screen_signs_the_terminal_in(live_server, plant):
    async with FactoryClient(live_server.url) as api:
        app = Host(api, USERS["ana"]["email"])
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await until(pilot, lambda: isinstance(app.screen, SsoDeviceScreen) and app.screen.started is not None,
                        what="the code")
            screen = app.screen
            assert isinstance(screen, SsoDeviceScreen) and screen.started is not None
            assert "Acme Keycloak" in text_of(pilot, "#sso-title")
            assert text_of(pilot, "#sso-code") == screen.started.user_code
            assert screen.started.verification_uri in text_of(pilot, "#sso-page")
            qr = screen.query_one("#sso-qr-code")
            assert qr.region.right <= 80 and qr.region.bottom <= 24  # the whole QR code is on screen
            await asyncio.to_thread(approve, screen.started.verification_uri_complete or "", "ana")
            await until(pilot, lambda: app.result != "open", timeout=30, what="signed in")
        assert app.result is not None and app.result.account.email == USERS["ana"]["email"]
        assert api.signed_in
        assert (await api.me()).role == "operator"


async def test_device_screen_says_when_the_person_declined(live_server, plant):
    async with FactoryClient(live_server.url) as api:
        app = Host(api, USERS["ana"]["email"])
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, SsoDeviceScreen) and app.screen.started is not None,
                        what="the code")
            screen = app.screen
            assert isinstance(screen, SsoDeviceScreen) and screen.started is not None
            await asyncio.to_thread(approve, screen.started.verification_uri_complete or "", "ana", False)
            await until(pilot, lambda: "declined" in text_of(pilot, "#sso-status"), timeout=30, what="the refusal")
            assert "Acme Keycloak" in text_of(pilot, "#sso-status") and "R for a new code" in text_of(pilot,
                                                                                                      "#sso-status")
            await pilot.press("escape")
            await until(pilot, lambda: app.result is None, what="cancelled")
