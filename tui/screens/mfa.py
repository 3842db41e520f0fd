"""Two-factor sign-in for your own account: enroll with a QR code, confirm, or turn it off."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from tui.screens.base import AppScreen
from tui.widgets.header import Header
from tui.widgets.qr import QrCode


class MfaScreen(AppScreen):
    AUTO_FOCUS = ""  # _show_state focuses what fits the state
    HELP = """\
**Two-factor sign-in**

Press **Start**, scan the code with an authenticator app (or type the secret), then type
the 6-digit code it shows and press **Enter**. Keep the recovery codes somewhere safe:
each one signs you in once without the app.
"""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="mfa"):
            yield Vertical(id="mfa-qr")
            with Vertical(id="mfa-side"):
                yield Static("", id="mfa-state")
                yield Button("Start enrollment", variant="primary", id="mfa-start")
                yield Static("", id="mfa-secret")
                with Vertical(id="mfa-confirm"):
                    yield Label("Code from the app")
                    yield Input(placeholder="6-digit code", restrict=r"[0-9 ]*", max_length=7, id="mfa-code")
                with Vertical(id="mfa-disable"):
                    yield Label("Turn off: password and a current code")
                    yield Input(password=True, placeholder="password", id="mfa-password")
                    yield Input(placeholder="6-digit code", restrict=r"[0-9 ]*", max_length=7, id="mfa-off-code")
                    yield Button("Turn off", variant="error", id="mfa-off")
                yield Static("", id="mfa-codes")
        yield Footer()

    def on_mount(self) -> None:
        self._show_state()

    def _show_state(self) -> None:
        enabled = self.session.me.account.mfa_enabled
        self.query_one("#mfa-state", Static).update(
            "Two-factor sign-in is [b]on[/b]." if enabled else "Two-factor sign-in is [b]off[/b].")
        self.query_one("#mfa-start").display = not enabled
        self.query_one("#mfa-confirm").display = False
        self.query_one("#mfa-disable").display = enabled
        if enabled:
            self.query_one("#mfa-password", Input).focus()
        else:
            self.query_one("#mfa-start", Button).focus()

    @on(Button.Pressed, "#mfa-start")
    @work(exclusive=True, exit_on_error=False)
    async def enroll(self) -> None:
        enrollment = await self.api.mfa_enroll()
        holder = self.query_one("#mfa-qr", Vertical)
        await holder.remove_children()
        await holder.mount(QrCode(enrollment.otpauth_uri, id="qr"))
        self.query_one("#mfa-secret", Static).update(f"Or type this secret:\n[b]{enrollment.secret}[/b]")
        self.query_one("#mfa-start").display = False
        self.query_one("#mfa-confirm").display = True
        self.query_one("#mfa-code", Input).focus()

    @on(Input.Submitted, "#mfa-code")
    @work(exclusive=True, exit_on_error=False)
    async def confirm(self) -> None:
        field = self.query_one("#mfa-code", Input)
        codes = await self.api.mfa_confirm(field.value.replace(" ", ""))
        self.session.me = await self.api.me()
        await self.query_one("#mfa-qr", Vertical).remove_children()
        self.query_one("#mfa-secret", Static).update("")
        self.query_one("#mfa-codes", Static).update(
            "[b]Recovery codes[/b] (shown once, each works once):\n" + "\n".join(codes.recovery_codes))
        self._show_state()
        self.notify("Two-factor sign-in is on.", title="Done")

    @on(Button.Pressed, "#mfa-off")
    @on(Input.Submitted, "#mfa-off-code")
    @work(exclusive=True, exit_on_error=False)
    async def disable(self) -> None:
        password = self.query_one("#mfa-password", Input).value
        code = self.query_one("#mfa-off-code", Input).value.replace(" ", "")
        await self.api.mfa_disable(password, code)
        self.session.me = await self.api.me()
        self.query_one("#mfa-codes", Static).update("")
        self._show_state()
        self.notify("Two-factor sign-in is off.", title="Done")
