"""Sign a terminal in through the company's identity provider: a short code, the page to enter
it on a phone or PC, and a QR code of that page; the screen waits until the person is signed in.

Dismisses with the `SignIn` (the client keeps its tokens) or None when cancelled.
"""

from __future__ import annotations

from uuid import UUID

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import SignIn
from factoryos.sso.oidc_models import DeviceStartOut
from tui.errors import describe
from tui.widgets.qr import QrCode

# Refusals after which waiting longer cannot help: a new code is needed (R) or another way in.
_FINAL = {"sso_access_denied", "sso_device_expired", "sso_device_code_used", "sso_flow_invalid", "sso_no_role",
          "sso_email_in_use", "sso_account_disabled", "sso_provider_disabled", "sso_email_invalid",
          "sso_local_account_only", "sso_no_provider", "sso_device_unsupported"}


class SsoDeviceScreen(ModalScreen[SignIn | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Stop and go back to the sign-in screen.", id="cancel"),
        Binding("r", "restart", "New code", tooltip="Ask the identity provider for a new code.", id="new-code"),
    ]
    DEFAULT_CSS = """
    SsoDeviceScreen { align: center middle; }
    #sso-box { width: auto; max-width: 100%; height: auto; border: round $primary; padding: 0 1;
               background: $surface; }
    #sso-qr { width: auto; height: auto; }
    #sso-side { width: 40; height: auto; padding: 0 0 0 1; }
    #sso-code { text-style: bold; color: $accent; padding: 1 0; }
    #sso-status.error { color: $error; }
    """

    def __init__(self, api: FactoryClient, *, email: str | None = None, provider_id: UUID | None = None,
                 company_id: UUID | None = None) -> None:
        super().__init__()
        self.client = api
        self.email, self.provider_id, self.company_id = email, provider_id, company_id
        self.started: DeviceStartOut | None = None
        self._timer: Timer | None = None
        self._interval = 5

    def compose(self) -> ComposeResult:
        with Horizontal(id="sso-box"):
            yield Vertical(id="sso-qr")
            with Vertical(id="sso-side"):
                yield Static("Asking your identity provider for a code…", id="sso-title")
                yield Static("", id="sso-page")
                yield Static("", id="sso-code")
                yield Static("", id="sso-status")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._start(), exclusive=True, group="sso", exit_on_error=False)

    async def _start(self) -> None:
        self._stop_timer()
        try:
            started = await self.client.sso_device_start(email=self.email, provider_id=self.provider_id,
                                                         company_id=self.company_id)
        except ClientError as exc:
            self._show_error(exc)
            return
        self.started, self._interval = started, started.interval
        link = started.verification_uri_complete or started.verification_uri
        qr = self.query_one("#sso-qr", Vertical)
        await qr.remove_children()
        await qr.mount(QrCode(link, id="sso-qr-code"))
        self.query_one("#sso-title", Static).update(f"Sign in with [b]{started.provider_name}[/b]")
        self.query_one("#sso-page", Static).update(
            f"On your phone or PC open\n[u]{started.verification_uri}[/u]\nor scan the code, and enter:")
        self.query_one("#sso-code", Static).update(started.user_code)
        minutes = max(1, round(started.expires_in / 60))
        self._status(f"Waiting for you to sign in there… (code valid {minutes} min)")
        self._arm()

    def _arm(self) -> None:
        self._timer = self.set_timer(self._interval, self._poll_soon)

    def _poll_soon(self) -> None:
        self.run_worker(self._poll(), exclusive=True, group="sso", exit_on_error=False)

    async def _poll(self) -> None:
        if self.started is None:
            return
        try:
            answer = await self.client.sso_device_poll(self.started.handle)
        except ClientError as exc:
            self._show_error(exc)
            if exc.code not in _FINAL:
                self._arm()  # e.g. the provider briefly unreachable: keep trying while the code lives
            return
        if answer.sign_in is not None:
            self.dismiss(answer.sign_in)
            return
        self._interval = max(self._interval, answer.interval)
        self._arm()

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#sso-status", Static)
        status.update(text)
        status.set_class(error, "error")

    def _show_error(self, exc: ClientError) -> None:
        hint = " Press R for a new code." if exc.code in {"sso_device_expired", "sso_device_code_used",
                                                           "sso_access_denied"} else ""
        self._status(describe(exc).message + hint, error=True)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_restart(self) -> None:
        self.started = None
        self.query_one("#sso-code", Static).update("")
        self._status("Asking your identity provider for a new code…")
        self.run_worker(self._start(), exclusive=True, group="sso", exit_on_error=False)

    def action_cancel(self) -> None:
        self._stop_timer()
        self.dismiss(None)
