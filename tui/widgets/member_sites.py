"""Limit one member to some sites: tick the sites they work at; none ticked is all sites.

Saved from the dialog itself, so a refusal shows under the list, in words.
"""

from __future__ import annotations

from uuid import UUID

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, SelectionList, Static

from factoryos.client.models import ROLE_TITLES, Member, SiteOut
from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError
from tui.widgets.tick_list import TickList


def sites_text(member: Member, sites: dict[str, SiteOut]) -> str:
    """The Sites cell: 'all sites', or the codes of the member's sites."""
    if member.site_ids is None:
        return "all sites"
    return ", ".join(sorted(sites[str(s)].code if str(s) in sites else "(hidden)" for s in member.site_ids))


class MemberTickDialog(SavingForm):
    """A member's limit as a tick list (sites, machines); none ticked is no limit. Dismisses with
    `{KEY: […] or None}` once the server took it (refusals stay at the list)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]
    KEY = ""  # the body's field, e.g. "site_ids"
    LIST_ID = ""
    PROMPT = ""

    def __init__(self, member: Member, choices: list[tuple[str, UUID]], ticked: list[UUID] | None,
                 save: Save) -> None:
        super().__init__(save)
        self.member = member
        self.choices = choices  # (label, id), in the order shown
        self.ticked = {str(i) for i in ticked or ()}

    def compose(self) -> ComposeResult:
        m = self.member
        with Vertical(classes="dialog"):
            yield Static(f"{m.display_name or m.email} · {ROLE_TITLES.get(m.role, m.role)}", classes="dialog-title")
            yield Static(self.PROMPT)
            yield TickList[str](
                *((label, str(i), str(i) in self.ticked) for label, i in self.choices), id=self.LIST_ID)
            yield FieldError(id=f"{self.LIST_ID}-error")
            yield FieldError(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        ticked = set(self.query_one(f"#{self.LIST_ID}", SelectionList).selected)
        self.submit({self.KEY: [i for _, i in self.choices if str(i) in ticked] or None})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MemberSitesDialog(MemberTickDialog):
    HELP = "**Space** ticks a site; none ticked gives all sites. **Ctrl+S** saves; **Escape** cancels."
    KEY, LIST_ID = "site_ids", "member-sites"
    FIELDS = {KEY: LIST_ID}
    PROMPT = "Sites they see and work at. None ticked: all sites."

    def __init__(self, member: Member, sites: list[SiteOut], save: Save) -> None:
        super().__init__(member, [(f"{s.code}  {s.name}", s.id) for s in sites], member.site_ids, save)
