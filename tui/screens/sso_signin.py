"""The sign-in screen's company methods: once an email is typed, the server says how that
email's company signs in (GET /auth/config). A directory (LDAP/AD) uses the password field as
it is, so only a line says whose password; an OpenID provider adds a "Sign in with <name>"
button that opens the device handoff (tui/screens/sso_device.py). The password stays for local
accounts and the company's break-glass owner.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from factoryos.client import ClientError, FactoryClient, normalize_server_url
from factoryos.client.models import SignIn
from factoryos.sso.models import AuthConfig


class SsoMethods(Vertical):
    """Hidden until the email's company offers more than a local password."""

    DEFAULT_CSS = """
    SsoMethods { height: auto; display: none; }
    SsoMethods.-shown { display: block; }
    SsoMethods #sso-note { color: $text-muted; padding: 0 0 0 10; height: auto; }
    SsoMethods #sso-buttons { height: auto; padding: 0 0 0 10; }
    SsoMethods #sso-buttons Button { margin: 0 1 0 0; }
    """

    def __init__(self, server: Callable[[], str], email: Callable[[], str],
                 signed_in: Callable[[FactoryClient, SignIn], None]) -> None:
        super().__init__(id="sso-methods")
        self._server, self._email, self._signed_in = server, email, signed_in
        self._asked: tuple[str, str] | None = None
        self.config: AuthConfig | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="sso-note")
        yield Horizontal(id="sso-buttons")

    def lookup(self) -> None:
        """Ask the server about the email now in the field (once per server and email)."""
        email = self._email()
        if "@" not in email:
            self._show(None)
            return
        try:
            server = normalize_server_url(self._server())
        except ClientError:
            return
        if self._asked == (server, email.lower()):
            return
        self._asked = (server, email.lower())
        self._fetch(server, email)

    @work(exclusive=True, group="sso-config", exit_on_error=False)
    async def _fetch(self, server: str, email: str) -> None:
        try:
            api = await self.screen.factory.client_for(server)  # type: ignore[attr-defined]
            config = await api.auth_config(email)
        except ClientError:
            self._asked = None  # an older server or an unreachable one: the password form stays as it is
            self._show(None)
            return
        self._show(config)

    def _show(self, config: AuthConfig | None) -> None:
        self.config = config
        note = self.query_one("#sso-note", Static)
        buttons = self.query_one("#sso-buttons", Horizontal)
        buttons.remove_children()
        others = [m for m in config.methods if m.kind != "password"] if config else []
        if not others:
            self.remove_class("-shown")
            note.update("")
            return
        ldap = [m for m in others if m.kind == "ldap"]
        lines = []
        if ldap:
            lines.append(f"{config.company_name}: sign in with your {ldap[0].name} password.")
        elif config.password_note:
            lines.append(config.password_note)
        note.update(" ".join(lines))
        for index, method in enumerate(m for m in others if m.device_flow):
            buttons.mount(Button(f"Sign in with {method.name}", id=f"sso-provider-{index}",
                                 name=str(method.provider_id)))
        self.add_class("-shown")

    @on(Button.Pressed, "#sso-buttons Button")
    def _chosen(self, event: Button.Pressed) -> None:
        event.stop()
        self._device(UUID(event.button.name or ""))

    @work(exclusive=True, group="sso-device", exit_on_error=False)
    async def _device(self, provider_id: UUID) -> None:
        from tui.screens.sso_device import SsoDeviceScreen  # the OpenID Connect handoff

        api = await self.screen.factory.client_for(normalize_server_url(self._server()))  # type: ignore[attr-defined]
        signin = await self.app.push_screen_wait(SsoDeviceScreen(api, email=self._email() or None,
                                                                 provider_id=provider_id))
        if signin is not None:
            self._signed_in(api, signin)
