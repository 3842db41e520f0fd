"""Limit one member to some sites: tick the sites they work at; none ticked is all sites.

Saved from the dialog itself, so a refusal shows under the list, in words.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, SelectionList, Static

from factoryos.client.models import ROLE_TITLES, Member, SiteOut
from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError


def sites_text(member: Member, sites: dict[str, SiteOut]) -> str:
    """The Sites cell: 'all sites', or the codes of the member's sites."""
    if member.site_ids is None:
        return "all sites"
    return ", ".join(sorted(sites[str(s)].code if str(s) in sites else "(hidden)" for s in member.site_ids))


class MemberSitesDialog(SavingForm):
    """Dismisses with `{"site_ids": …}` once the server took it (refusals stay at the list)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]
    HELP = "**Space** ticks a site; none ticked gives all sites. **Ctrl+S** saves; **Escape** cancels."
    FIELDS = {"site_ids": "member-sites"}

    def __init__(self, member: Member, sites: list[SiteOut], save: Save) -> None:
        super().__init__(save)
        self.member = member
        self.sites = sites

    def compose(self) -> ComposeResult:
        m = self.member
        mine = {str(s) for s in m.site_ids or ()}
        with Vertical(classes="dialog"):
            yield Static(f"{m.display_name or m.email} · {ROLE_TITLES.get(m.role, m.role)}", classes="dialog-title")
            yield Static("Sites they see and work at. None ticked: all sites.")
            yield SelectionList[str](
                *((f"{s.code}  {s.name}", str(s.id), str(s.id) in mine) for s in self.sites), id="member-sites")
            yield FieldError(id="member-sites-error")
            yield FieldError(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        ticked = list(self.query_one("#member-sites", SelectionList).selected)
        self.submit({"site_ids": [s.id for s in self.sites if str(s.id) in ticked] or None})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
