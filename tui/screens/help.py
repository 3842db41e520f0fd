"""`?` / F1: what this screen is for and every key it takes, readable at 80×24."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1", "close", "Close", id="close")]

    def __init__(self, text: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.text = text
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall", id="help"):
            with VerticalScroll():
                yield Markdown(self.text or "No help for this screen yet.")
                width = max((len(k) for k, _ in self.keys), default=0)
                yield Static("\n".join(f"[b]{k:>{width}}[/b]  {d}" for k, d in self.keys), id="help-keys")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
