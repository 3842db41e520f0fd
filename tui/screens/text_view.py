"""A scrollable read-only text (an audit entry, a long error), closed with Escape."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea


class TextView(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close", id="close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall"):
            yield Static(self.title_text, classes="dialog-title")
            yield TextArea(self.text, read_only=True, id="text-view")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
