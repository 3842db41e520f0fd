"""Trust a server certificate after comparing its fingerprint (dismisses with it, or None)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class TrustCertificate(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape,n", "cancel", "Do not trust", id="cancel"),
        Binding("t", "trust", "Trust", id="trust"),
    ]
    HELP = "Compare the fingerprint with the one your administrator gave you. Press **t** only if they match."

    def __init__(self, server: str, fingerprint: str | None) -> None:
        super().__init__()
        self.server = server
        self.fingerprint = fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Certificate not trusted", classes="dialog-title")
            yield Static(f"The certificate of {self.server} is not signed by a CA this terminal trusts.")
            if self.fingerprint:
                yield Static("Its SHA-256 fingerprint is:")
                yield Static(self.fingerprint, id="fingerprint")
                yield Static("Trust it only if it matches the fingerprint your administrator gave you.")
            else:
                yield Static("Its fingerprint could not be read: ask your administrator for the CA file.")
            with Horizontal(classes="dialog-buttons"):
                if self.fingerprint:
                    yield Button("Trust (t)", variant="warning", id="trust")
                yield Button("Do not trust (n)", id="cancel")
        yield Footer()

    @on(Button.Pressed, "#trust")
    def action_trust(self) -> None:
        if self.fingerprint:
            self.dismiss(self.fingerprint)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
