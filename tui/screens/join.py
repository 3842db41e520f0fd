"""Join a company with an invite code: a new account (name and a new password), or an
existing one signing in with its password (and its two-factor code when asked)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from factoryos.client import ClientError, FactoryClient, UntrustedCertificate
from factoryos.client.models import Me
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.screens.trust import TrustCertificate
from tui.widgets.header import Header

# Server fields → the input that holds them.
_FIELDS = {"code": "#join-code", "email": "#join-email", "display_name": "#join-name", "password": "#join-password",
           "totp_code": "#join-totp", "recovery_code": "#join-totp"}
_CODE_FIELDS = {"invite_not_found": "code", "invite_used": "code", "invite_expired": "code",
                "invite_revoked": "code", "invalid_credentials": "password", "invalid_totp": "totp_code"}


class JoinScreen(AppScreen):
    """Dismissed with (client, me) once joined; the sign-in screen starts the session."""

    BINDINGS = [Binding("ctrl+s", "join", "Join", tooltip="Join the company with what is entered.")]
    AUTO_FOCUS = "#join-code"
    HELP = """\
**Join with an invite code**

Type the code your administrator gave you (it looks like `K7MX-3QPD`), your email, your
name and a new password (twice). If you already have a FactoryOS account, type its
password instead: the company is added to your account. **Escape** goes back to sign-in.
"""

    def __init__(self, api: FactoryClient, email: str = "") -> None:
        super().__init__()
        self._client = api
        self._email = email

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="login-box"):
            yield Static(f"Join a company on {self._client.server}", id="login-title")
            for label, field, extra in (
                ("Invite", "join-code", {"placeholder": "K7MX-3QPD", "max_length": 20}),
                ("Email", "join-email", {"value": self._email, "placeholder": "you@example.com"}),
                ("Name", "join-name", {"placeholder": "as your colleagues know you"}),
                ("Password", "join-password", {"password": True, "placeholder": "new, or your current one"}),
                ("Repeat", "join-repeat", {"password": True}),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Input(id=field, **extra)  # type: ignore[arg-type]
            with Horizontal(classes="form-row", id="join-totp-row"):
                yield Label("2FA code", classes="form-label")
                yield Input(placeholder="6-digit code or recovery code", max_length=24, id="join-totp")
            yield Button("Join", variant="primary", id="join")
            yield Static("", id="join-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#join-totp-row").display = False

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        order = [i for i in self.query(Input) if i.parent is not None and i.parent.display]
        if event.input is order[-1]:
            self.action_join()
        else:
            order[order.index(event.input) + 1].focus()

    @on(Button.Pressed, "#join")
    def _pressed(self) -> None:
        self.action_join()

    def action_join(self) -> None:
        values = {name: self.query_one(f"#join-{name}", Input).value for name in ("code", "email", "name")}
        password = self.query_one("#join-password", Input).value
        for name, what in (("code", "the invite code"), ("email", "your email")):
            if not values[name].strip():
                self._message(f"Enter {what}.", focus=f"#join-{name}")
                return
        if not password:
            self._message("Enter a password.", focus="#join-password")
            return
        if password != self.query_one("#join-repeat", Input).value:
            self.query_one("#join-repeat", Input).value = ""
            self._message("The passwords do not match: type it again.", focus="#join-repeat")
            return
        self._message("Joining…", kind="info")
        self.join(values["code"].strip(), values["email"].strip(), password, values["name"].strip())

    @work(exclusive=True, exit_on_error=False)
    async def join(self, code: str, email: str, password: str, name: str) -> None:
        second = self.query_one("#join-totp", Input).value.strip() if self.query_one("#join-totp-row").display else ""
        button = self.query_one("#join", Button)
        button.disabled = True
        try:
            await self._client.accept_invite(
                code, email, password, display_name=name or None,
                totp_code=second if second.isdigit() else None,
                recovery_code=second if second and not second.isdigit() else None,
            )  # fmt: skip
            me: Me = await self._client.me()
        except UntrustedCertificate as exc:
            self._message(describe(exc).message)
            self.app.push_screen(TrustCertificate(self._client.server, exc.fingerprint), self._trusted)
            return
        except ClientError as exc:
            self._failed(exc)
            return
        finally:
            button.disabled = False
        self.dismiss((self._client, me))

    def _trusted(self, fingerprint: str | None) -> None:
        if fingerprint is None:
            self._message("Not joined: the certificate was not trusted.")
            return
        self.factory.profile.pin(self._client.server, fingerprint)
        self.factory.save_profile()
        self._retry_trusted()

    @work(exclusive=True, exit_on_error=False)
    async def _retry_trusted(self) -> None:
        self._client = await self.factory.client_for(self._client.server)  # one that carries the new pin
        self.action_join()

    def _failed(self, exc: ClientError) -> None:
        if exc.code == "mfa_required":
            self.query_one("#join-totp-row").display = True
            self._message("Your account has two-factor sign-in: enter the code from your app.", kind="info",
                          focus="#join-totp")  # fmt: skip
            return
        problem = describe(exc)
        field = exc.field or _CODE_FIELDS.get(exc.code)
        self._message(problem.message, focus=_FIELDS.get(field or ""))
        self.notify(problem.message, title=problem.title, severity="error")

    def _message(self, text: str, *, kind: str = "error", focus: str | None = None) -> None:
        label = self.query_one("#join-message", Static)
        label.update(text)
        label.set_classes(f"message-{kind}")
        if focus:
            self.query_one(focus, Input).focus()
