"""Sign in: server address (remembered), email, password, then the TOTP code when asked,
and the company when the account belongs to several."""

from __future__ import annotations

from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from factoryos.client import ClientError, FactoryClient, UntrustedCertificate, companies_of, normalize_server_url
from factoryos.client.models import Me
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.screens.company_picker import CompanyPicker
from tui.screens.join import JoinScreen
from tui.screens.sso_signin import SsoMethods
from tui.screens.trust import TrustCertificate
from tui.widgets.header import Header


class LoginScreen(AppScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", show=False),
        Binding("ctrl+s", "sign_in", "Sign in", tooltip="Sign in with what is entered.", id="sign-in"),
        Binding("f2", "join", "Invite code", tooltip="Join a company with an invite code."),
        Binding("ctrl+q", "app.quit", "Quit", tooltip="Leave FactoryOS."),
    ]
    HELP = """\
**Sign in**

Enter the server address (e.g. `https://factory.lan`), your email and password,
then press **Enter**. When two-factor sign-in is on, a code field appears: type the
6-digit code from your authenticator app (or a recovery code).

New here? **F2** (or **I have an invite code**) joins a company with the code your
administrator gave you.

**F9** switches the high-contrast theme on or off.
"""
    AUTO_FOCUS = "#email"  # per instance: the first field still to fill (see compose)

    def __init__(self) -> None:
        super().__init__()
        self._company_id: UUID | None = None

    def compose(self) -> ComposeResult:
        server = self.factory.initial_server or ""
        email = self.factory.profile.email or ""
        # Decided before the screen is shown, so every path that focuses (activation, the
        # terminal regaining focus) lands on the first field still to fill.
        self.AUTO_FOCUS = "#server" if not server else "#email" if not email else "#password"
        yield Header()
        with Vertical(id="login-box"):
            yield Static("Sign in to FactoryOS", id="login-title")
            with Horizontal(classes="form-row"):
                yield Label("Server", classes="form-label")
                # In a browser the web process's server is the only one: shown, not editable.
                yield Input(server, placeholder="https://factory.lan", id="server", disabled=self.factory.server_fixed)
            with Horizontal(classes="form-row"):
                yield Label("Email", classes="form-label")
                yield Input(email, placeholder="you@example.com", id="email")
            with Horizontal(classes="form-row"):
                yield Label("Password", classes="form-label")
                yield Input(password=True, id="password")
            with Horizontal(classes="form-row", id="totp-row"):
                yield Label("Code", classes="form-label")
                yield Input(placeholder="6-digit code or recovery code", max_length=24, id="totp")
            # The email's company sign-in (directory or identity provider), once the email is known.
            yield SsoMethods(lambda: self._value("server"), lambda: self._value("email"), self._sso_signed_in)
            yield Button("Sign in", variant="primary", id="sign-in")
            yield Button("I have an invite code", id="join-invite")
            yield Static("", id="login-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#totp-row").display = False
        self.query_one(self.AUTO_FOCUS or "#password", Input).focus()
        self.query_one(SsoMethods).lookup()

    @on(Input.Blurred, "#email")
    def _company_methods(self) -> None:
        self.query_one(SsoMethods).lookup()

    @work(exclusive=True, group="sso-signed-in", exit_on_error=False)
    async def _sso_signed_in(self, api: FactoryClient, signin: object) -> None:
        self.factory.start_session(api, await api.me())

    # -- input flow ---------------------------------------------------------------------------

    @on(Input.Changed, "#email")
    @on(Input.Changed, "#server")
    def _forget_company(self) -> None:
        self._company_id = None

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        order = [i for i in self.query(Input) if i.parent is not None and i.parent.display]
        if event.input.id == "totp" or event.input is order[-1]:
            self.action_sign_in()
            return
        if event.input.id == "password" and not self.query_one("#totp-row").display:
            self.action_sign_in()
            return
        order[order.index(event.input) + 1].focus()

    @on(Button.Pressed, "#sign-in")
    def _pressed(self) -> None:
        self.action_sign_in()

    @on(Button.Pressed, "#join-invite")
    def action_join(self) -> None:
        try:
            server = normalize_server_url(self._value("server"))
        except ClientError as exc:
            self._fail(exc, "server")
            return
        self.open_join(server)

    @work(exclusive=True, group="join", exit_on_error=False)
    async def open_join(self, server: str) -> None:
        api = await self.factory.client_for(server)
        # Only an address typed now: the remembered one is the previous user's, not the newcomer's.
        email = self._value("email")
        self.app.push_screen(JoinScreen(api, "" if email == (self.factory.profile.email or "") else email),
                             self._joined)

    def _joined(self, joined: tuple[FactoryClient, Me] | None) -> None:
        if joined is not None:
            self.factory.start_session(*joined)

    def action_sign_in(self) -> None:
        self._message("Signing in…", "info")
        self.sign_in()

    def _message(self, text: str, kind: str = "error") -> None:
        label = self.query_one("#login-message", Static)
        label.update(text)
        label.set_classes(f"message-{kind}")

    def _value(self, field: str) -> str:
        if field == "server" and self.factory.server_fixed:
            return self.factory.initial_server or ""
        return self.query_one(f"#{field}", Input).value.strip()

    # -- the sign-in worker ---------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False)
    async def sign_in(self) -> None:
        try:
            server = normalize_server_url(self._value("server"))
        except ClientError as exc:
            self._fail(exc, "server")
            return
        email, password = self._value("email"), self.query_one("#password", Input).value
        if not email or not password:
            self._message("Enter your email and password.")
            self.query_one("#email" if not email else "#password", Input).focus()
            return
        code = self._value("totp") if self.query_one("#totp-row").display else ""
        self.query_one("#sign-in", Button).disabled = True
        try:
            api = await self.factory.client_for(server)
            signin = await api.login(
                email, password,
                totp_code=code if code.isdigit() else None,
                recovery_code=code if code and not code.isdigit() else None,
                company_id=self._company_id,
            )
            if signin.company is None:
                self._message("This account does not belong to a company yet: ask your administrator for an "
                              "invite code, then press F2.")
                return
            me = await api.me()
        except UntrustedCertificate as exc:
            self._message(describe(exc).message)
            self.app.push_screen(TrustCertificate(server, exc.fingerprint), self._trusted)
            return
        except ClientError as exc:
            self._handle(exc)
            return
        finally:
            self.query_one("#sign-in", Button).disabled = False
        self.factory.start_session(api, me)

    def _handle(self, exc: ClientError) -> None:
        if exc.code == "mfa_required":
            self.query_one("#totp-row").display = True
            self._message("Two-factor sign-in is on: enter the code from your authenticator app.", "info")
            self.query_one("#totp", Input).focus()
            return
        if exc.code == "company_required":
            self.app.push_screen(CompanyPicker(companies_of(exc)), self._chosen)
            self._message("Choose the company to sign in to.", "info")
            return
        field = {"invalid_credentials": "password", "invalid_totp": "totp", "server_unreachable": "server",
                 "invalid_server_url": "server"}.get(exc.code)
        self._fail(exc, field)

    def _fail(self, exc: ClientError, field: str | None) -> None:
        problem = describe(exc)
        self._message(problem.message)
        self.notify(problem.message, title=problem.title, severity="error")
        if field == "password":
            self.query_one("#password", Input).value = ""
        if field:
            self.query_one(f"#{field}", Input).focus()

    def _chosen(self, company_id: UUID | None) -> None:
        if company_id is None:
            self._message("Sign-in cancelled: no company chosen.")
            return
        self._company_id = company_id
        self.action_sign_in()

    def _trusted(self, fingerprint: str | None) -> None:
        if fingerprint is None:
            self._message("Not signed in: the certificate was not trusted.")
            return
        server = normalize_server_url(self._value("server"))
        self.factory.profile.pin(server, fingerprint)
        self.factory.save_profile()
        self.action_sign_in()
