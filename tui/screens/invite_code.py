"""Show a new invite code once, large enough to read out or copy down."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from factoryos.client.models import ROLE_TITLES, NewInvite


class InviteCodeDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "close", "Close", id="close")]

    def __init__(self, invite: NewInvite) -> None:
        super().__init__()
        self.invite = invite

    def compose(self) -> ComposeResult:
        i = self.invite
        with Vertical(classes="dialog"):
            yield Static(f"Invite for a new {ROLE_TITLES.get(i.role, i.role)}", classes="dialog-title")
            yield Static(i.code, id="invite-code")
            yield Static(f"Valid until {i.expires_at.astimezone():%Y-%m-%d %H:%M}, once. It is not shown again.")
            yield Button("Close", variant="primary", id="close")
        yield Footer()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
