"""Edit one member's permission flags: tick what they may do; the role stays as it is.

Ticks are the effective permissions. On save, ticks beyond the role become single
grants and role permissions left unticked become single denials.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, SelectionList, Static

from factoryos.client.models import PERMISSIONS, ROLE_TITLES, ROLES, Member
from tui.widgets.dialog_buttons import save_cancel
from tui.widgets.tick_list import TickList


def split_flags(role: str, ticked: set[str]) -> tuple[list[str], list[str]]:
    """(granted, denied) that turn `role` into exactly `ticked`."""
    base = ROLES.get(role, frozenset())
    return sorted(ticked - base), sorted(base - ticked)


class PermissionsDialog(ModalScreen[tuple[list[str], list[str]] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]
    HELP = "**Space** ticks or unticks a permission; **Ctrl+S** saves; **Escape** cancels."

    def __init__(self, member: Member) -> None:
        super().__init__()
        self.member = member

    def compose(self) -> ComposeResult:
        m = self.member
        base = ROLES.get(m.role, frozenset())
        with Vertical(classes="dialog"):
            yield Static(f"{m.display_name or m.email} · {ROLE_TITLES.get(m.role, m.role)}", classes="dialog-title")
            yield Static("✓ ticked: may do it. (role) marks what the role includes.")
            yield TickList[str](
                *((f"{p}{'  (role)' if p in base else ''}", p, p in m.permissions) for p in PERMISSIONS),
                id="flags",
            )
            yield save_cancel()
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        ticked = set(self.query_one("#flags", SelectionList).selected)
        self.dismiss(split_flags(self.member.role, ticked))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
