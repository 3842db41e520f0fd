"""Sign a record (21 CFR Part 11): the password again, the authenticator code when enrolled, what the
signature means and why. Any screen that needs a signature pushes it with the call that signs::

    self.app.push_screen(SignatureDialog("Close NC-0004 (scrap)", submit=lambda sig: api.close_nc(id, sig)),
                         callback=self._closed)

`submit` gets the `signature` body (password, totp, meaning, reason) and runs in a worker; the
dialog stays open on a wrong password or code (shown at the field), and dismisses with what
`submit` returned (None when cancelled). A second wrong attempt ends the session: sign in again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from factoryos.client import ClientError
from factoryos.signatures.models import MEANINGS
from tui.widgets.field_error import FieldError

Submit = Callable[[dict[str, Any]], Awaitable[Any]]
LABELS = {"authored": "Authored", "reviewed": "Reviewed", "approved": "Approved", "verified": "Verified",
          "responsible": "Responsible"}


class SignatureDialog(ModalScreen[Any]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Leave without signing.", id="cancel"),
        Binding("ctrl+s", "sign", "Sign", tooltip="Sign with the password (and code) entered.", id="sign"),
    ]
    DEFAULT_CSS = """
    SignatureDialog .sig-row { height: 3; }
    SignatureDialog .sig-row Label { width: 12; padding: 1 1 0 0; }
    SignatureDialog .sig-row Input, SignatureDialog .sig-row Select { width: 1fr; }
    SignatureDialog #sig-note { color: $text-muted; }
    """

    def __init__(self, what: str, *, submit: Submit, totp: bool = False, meaning: str = "approved",
                 meanings: tuple[str, ...] = MEANINGS) -> None:
        super().__init__()
        self.what = what
        self.submit = submit
        self.totp = totp
        self.meaning = meaning if meaning in meanings else meanings[0]
        self.meanings = meanings
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sig-dialog"):
            yield Static(f"Sign: {self.what}", classes="dialog-title", markup=False)
            yield Static("Your signature is recorded with your name, the time and its meaning.", id="sig-note")
            with Horizontal(classes="sig-row"):
                yield Label("Password")
                yield Input(password=True, max_length=1024, id="sig-password")
            yield FieldError(id="sig-password-error")
            if self.totp:
                with Horizontal(classes="sig-row"):
                    yield Label("Code")
                    yield Input(placeholder="6 digits from your app", max_length=8, id="sig-totp")
                yield FieldError(id="sig-totp-error")
            with Horizontal(classes="sig-row"):
                yield Label("Meaning")
                yield Select[str]([(LABELS.get(m, m), m) for m in self.meanings], value=self.meaning,
                                  allow_blank=False, id="sig-meaning")
            with Horizontal(classes="sig-row"):
                yield Label("Reason")
                yield Input(placeholder="why (optional)", max_length=500, id="sig-reason")
            yield FieldError(id="sig-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sign (Ctrl+S)", variant="primary", id="sig-sign")
                yield Button("Cancel (Esc)", id="sig-cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sig-password", Input).focus()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_sign()

    @on(Button.Pressed, "#sig-sign")
    def _sign_pressed(self) -> None:
        self.action_sign()

    @on(Button.Pressed, "#sig-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)

    def body(self) -> dict[str, Any]:
        reason = self.query_one("#sig-reason", Input).value.strip()
        out: dict[str, Any] = {"password": self.query_one("#sig-password", Input).value,
                               "meaning": str(self.query_one("#sig-meaning", Select).value), "reason": reason or None}
        if self.totp:
            out["totp"] = self.query_one("#sig-totp", Input).value.strip() or None
        return out

    def _clear(self) -> None:
        for error in self.query(FieldError):
            error.clear()

    def action_sign(self) -> None:
        if self.busy:
            return
        self._clear()
        body = self.body()
        if not body["password"]:
            self.query_one("#sig-password-error", FieldError).show("Enter your password to sign.")
            self.query_one("#sig-password", Input).focus()
            return
        if self.totp and not body.get("totp"):
            self.query_one("#sig-totp-error", FieldError).show("Enter the code from your authenticator app.")
            self.query_one("#sig-totp", Input).focus()
            return
        self.busy = True
        self.send(body)

    @work(exclusive=True, group="sign", exit_on_error=False)
    async def send(self, body: dict[str, Any]) -> None:
        try:
            result = await self.submit(body)
        except ClientError as exc:
            self.busy = False
            if exc.extra.get("session_ended"):
                # On the app: signing out removes this dialog, which would cancel its own worker.
                message = "Two wrong signing attempts in a row ended this session: sign in again."
                app: Any = self.app  # the FactoryApp (not imported here: screens stay below the app)
                app.run_worker(app.end_session(sign_out=False, message=message), group="session", exclusive=True,
                               exit_on_error=False)
                return
            self._refused(exc)
            return
        self.busy = False
        self.dismiss(result)

    def _refused(self, exc: ClientError) -> None:
        password = self.query_one("#sig-password", Input)
        if exc.field == "signature.password":
            password.value = ""
            self.query_one("#sig-password-error", FieldError).show(
                "That password is not right: nothing was signed. A second wrong try ends your session.")
            password.focus()
        elif exc.field == "signature.totp" and self.totp:
            self.query_one("#sig-totp-error", FieldError).show(
                "That code is not right (or was used already): wait for the next one.")
            self.query_one("#sig-totp", Input).focus()
        else:
            self.query_one("#sig-error", FieldError).show(exc.detail)
