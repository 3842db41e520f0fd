"""Choose one of the companies an account belongs to (dismisses with its id, or None)."""

from __future__ import annotations

from uuid import UUID

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from factoryos.client.models import ROLE_TITLES, CompanyRef


class CompanyPicker(ModalScreen[UUID | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = "Pick the company with the arrow keys and press **Enter**."

    def __init__(self, companies: list[CompanyRef]) -> None:
        super().__init__()
        self.companies = companies

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("You belong to several companies. Sign in to:", classes="dialog-title")
            # Plain text: a name such as "Acme [Linz]" is the company's, not markup.
            yield OptionList(
                *(Option(Content(f"{c.name}  ({ROLE_TITLES.get(c.role, c.role)})"), id=str(c.id))
                  for c in self.companies),
                id="companies",
            )
        yield Footer()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(UUID(event.option.id) if event.option.id else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
