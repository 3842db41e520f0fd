"""Confirm a restore by typing the backup's name: it replaces every company's data.

Dismisses with True only when the typed name matches exactly.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from factoryos.client.ops_models import BackupItem


class RestoreConfirm(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = "Type the backup's name exactly and press **Enter** to restore it, or **Escape** to cancel."

    def __init__(self, backup: BackupItem) -> None:
        super().__init__()
        self.backup = backup

    def compose(self) -> ComposeResult:
        b = self.backup
        with Vertical(classes="dialog", id="restore-dialog"):
            yield Static("Restore a backup", classes="dialog-title")
            yield Static(
                f"Replace the database with [b]{b.name}[/b] from {b.created_at.astimezone():%Y-%m-%d %H:%M}?\n"
                "Everything written since then is lost, for every company on this server. "
                "While the database is swapped, requests are refused for a few seconds.",
                id="restore-question",
            )
            yield Static("Type the backup's name to confirm:", classes="message-info")
            yield Input(placeholder=b.name, id="restore-name")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore", variant="error", id="restore-yes", disabled=True)
                yield Button("Cancel (Esc)", id="restore-no")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#restore-name", Input).focus()

    @property
    def confirmed(self) -> bool:
        return self.query_one("#restore-name", Input).value.strip() == self.backup.name

    @on(Input.Changed, "#restore-name")
    def _typed(self) -> None:
        self.query_one("#restore-yes", Button).disabled = not self.confirmed

    @on(Input.Submitted, "#restore-name")
    @on(Button.Pressed, "#restore-yes")
    def _restore(self) -> None:
        if self.confirmed:
            self.dismiss(True)
        else:
            self.notify("The name does not match the backup's.", title="Not confirmed", severity="warning")

    @on(Button.Pressed, "#restore-no")
    def action_cancel(self) -> None:
        self.dismiss(False)
