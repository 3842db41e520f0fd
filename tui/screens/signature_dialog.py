"""Sign a record (21 CFR Part 11): the password again, the authenticator code when enrolled, what the
signature means and why. Any screen that needs a signature pushes it with the call that signs::

    self.app.push_screen(SignatureDialog("Close NC-0004 (scrap)", submit=lambda sig: api.close_nc(id, sig)),
                         callback=self._closed)

`submit` gets the `signature` body (password, totp, meaning, reason) and runs in a worker; the
dialog stays open on a wrong password or code (shown at the field), and dismisses with what
`submit` returned (None when cancelled). A second wrong attempt ends the session: sign in again.

People who sign in only through their company's OIDC or SAML provider have no password here: the
server says so (`signature_reauth_required`), or they press F2, and the dialog shows a code, a
page and a QR code; they sign in again at the provider on a phone or PC, the dialog waits, then
signs with that confirmation (`reauth`) and the meaning and reason already chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from factoryos.client import ClientError
from factoryos.client.api_sso_reauth import SsoReauthApi
from factoryos.signatures.models import MEANINGS
from factoryos.sso.oidc_models import DeviceStartOut
from tui.widgets.field_error import FieldError
from tui.widgets.qr import QrCode

Submit = Callable[[dict[str, Any]], Awaitable[Any]]
LABELS = {"authored": "Authored", "reviewed": "Reviewed", "approved": "Approved", "verified": "Verified",
          "responsible": "Responsible"}


class SignatureDialog(ModalScreen[Any]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Leave without signing.", id="cancel"),
        Binding("ctrl+s", "sign", "Sign", tooltip="Sign with the password (and code) entered.", id="sign"),
        Binding("f2", "provider", "Company sign-in", tooltip="No password here? Confirm who you are at your "
                "company's identity provider instead.", id="provider"),
    ]
    DEFAULT_CSS = """
    SignatureDialog .sig-row { height: 3; }
    SignatureDialog .sig-row Label { width: 12; padding: 1 1 0 0; }
    SignatureDialog .sig-row Input, SignatureDialog .sig-row Select { width: 1fr; }
    SignatureDialog #sig-note { color: $text-muted; }
    SignatureDialog #sig-sso { display: none; height: auto; width: auto; }
    SignatureDialog.provider #sig-sso { display: block; }
    SignatureDialog.provider .password-only { display: none; }
    SignatureDialog #sig-sso-qr { width: auto; height: auto; }
    SignatureDialog #sig-sso-side { width: 36; height: auto; padding: 0 0 0 1; }
    SignatureDialog #sig-sso-code { text-style: bold; color: $accent; padding: 1 0; }
    SignatureDialog #sig-sso-status.error { color: $error; }
    """

    def __init__(self, what: str, *, submit: Submit, totp: bool = False, meaning: str = "approved",
                 meanings: tuple[str, ...] = MEANINGS, api: SsoReauthApi | None = None) -> None:
        super().__init__()
        self.api = api
        self.started: DeviceStartOut | None = None
        self.what = what
        self.submit = submit
        self.totp = totp
        self.meaning = meaning if meaning in meanings else meanings[0]
        self.meanings = meanings
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sig-dialog"):
            yield Static(f"Sign: {self.what}", classes="dialog-title", markup=False)
            yield Static("Your signature is recorded with your name, the time and its meaning.", id="sig-note",
                         classes="password-only")
            with Horizontal(id="sig-sso"):
                yield Vertical(id="sig-sso-qr")
                with Vertical(id="sig-sso-side"):
                    yield Static("", id="sig-sso-page")
                    yield Static("", id="sig-sso-code")
                    yield Static("Asking your identity provider for a code…", id="sig-sso-status")
            with Horizontal(classes="sig-row password-only"):
                yield Label("Password")
                yield Input(password=True, max_length=1024, id="sig-password")
            yield FieldError(id="sig-password-error", classes="password-only")
            if self.totp:
                with Horizontal(classes="sig-row password-only"):
                    yield Label("Code")
                    yield Input(placeholder="6 digits from your app", max_length=8, id="sig-totp")
                yield FieldError(id="sig-totp-error", classes="password-only")
            with Horizontal(classes="sig-row password-only"):
                yield Label("Meaning")
                yield Select[str]([(LABELS.get(m, m), m) for m in self.meanings], value=self.meaning,
                                  allow_blank=False, id="sig-meaning")
            with Horizontal(classes="sig-row password-only"):
                yield Label("Reason")
                yield Input(placeholder="why (optional)", max_length=500, id="sig-reason")
            yield FieldError(id="sig-error")
            with Horizontal(classes="dialog-buttons password-only"):
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
        if self.busy or self.has_class("provider"):
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
        if exc.code == "signature_reauth_required":
            self.action_provider()
        elif exc.field == "signature.password":
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

    # -- a fresh sign-in at the company's identity provider instead of a password ----------------

    def action_provider(self) -> None:
        if self.busy:
            return
        self._clear()
        self.add_class("provider")
        self.run_worker(self._confirm_at_provider(), exclusive=True, group="sign", exit_on_error=False)

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#sig-sso-status", Static)
        status.update(message)
        status.set_class(error, "error")

    async def _confirm_at_provider(self) -> None:
        app: Any = self.app
        api: SsoReauthApi | None = self.api or getattr(app, "_client", None)
        if api is None:
            self._status("Not connected to the server.", error=True)
            return
        try:
            started = await api.sso_reauth_start()
        except ClientError as exc:
            self._status(exc.detail, error=True)
            return
        self.started = started
        link = started.verification_uri_complete or started.verification_uri
        holder = self.query_one("#sig-sso-qr", Vertical)
        await holder.remove_children()
        await holder.mount(QrCode(link, id="sig-sso-qr-code"))
        self.query_one("#sig-sso-page", Static).update(
            f"Confirm it is you at [b]{started.provider_name}[/b]: on your phone or PC open\n"
            f"[u]{started.verification_uri}[/u]\nor scan the code, and enter:")
        self.query_one("#sig-sso-code", Static).update(started.user_code)
        self._status("Waiting for you to sign in there… (Esc cancels)")
        while True:
            await asyncio.sleep(started.interval)
            try:
                status = await api.sso_reauth_status(started.handle)
            except ClientError as exc:
                self._status(exc.detail, error=True)
                return
            if status.status == "refused":
                self._status(f"{status.detail or 'Refused'}. Press F2 for a new code.", error=True)
                return
            if status.status == "confirmed":
                break
        self._status("Confirmed: signing…")
        body = self.body()
        body.pop("password", None)
        body.pop("totp", None)
        body["reauth"] = started.handle
        self.busy = True
        try:
            result = await self.submit(body)
        except ClientError as exc:
            self.busy = False
            self._status(f"{exc.detail} Press F2 to try again.", error=True)
            return
        self.busy = False
        self.dismiss(result)
