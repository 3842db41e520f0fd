"""Limit one member to the machines they are certified for: tick them; none ticked is no limit
(every machine of the sites they work at).

Saved from the dialog itself, so a refusal shows under the list, in words.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, SelectionList, Static

from factoryos.client import ClientError
from factoryos.client.models import ROLE_TITLES, MachineOut, Member, SiteOut
from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError


def machines_text(member: Member) -> str:
    """What the Sites cell adds for a member limited to some machines."""
    if member.machine_ids is None:
        return ""
    count = len(member.machine_ids)
    return f" · {count} machine{'s' if count != 1 else ''}"


class MemberMachinesDialog(SavingForm):
    """Dismisses with `{"machine_ids": …}` once the server took it (refusals stay at the list)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]
    HELP = ("**Space** ticks a machine the person is certified for; they then see and record only the "
            "ticked machines. None ticked: every machine of their sites. **Ctrl+S** saves; **Escape** cancels.")
    FIELDS = {"machine_ids": "member-machines"}
    DEFAULT_CSS = """
    MemberMachinesDialog #member-machines { height: auto; max-height: 12; }
    """

    def __init__(self, member: Member, machines: list[MachineOut], sites: dict[str, SiteOut], save: Save) -> None:
        super().__init__(save)
        self.member = member
        # Only the machines of the sites they work at can be ticked.
        within = {str(s) for s in member.site_ids} if member.site_ids is not None else None
        self.machines = [m for m in machines if within is None or str(m.site_id) in within]
        self.sites = sites

    def _label(self, m: MachineOut) -> str:
        site = self.sites.get(str(m.site_id))
        return f"{m.code}  {m.name}" + (f"  ({site.code})" if site is not None and len(self.sites) > 1 else "")

    def compose(self) -> ComposeResult:
        m = self.member
        mine = {str(x) for x in m.machine_ids or ()}
        with Vertical(classes="dialog"):
            yield Static(f"{m.display_name or m.email} · {ROLE_TITLES.get(m.role, m.role)}", classes="dialog-title")
            yield Static("Machines they are certified for. None ticked: every machine of their sites.")
            yield SelectionList[str](
                *((self._label(x), str(x.id), str(x.id) in mine) for x in self.machines), id="member-machines")
            yield FieldError(id="member-machines-error")
            yield FieldError(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def _refused(self, exc: ClientError) -> None:
        if (exc.field or "").startswith("machine_ids["):  # one machine of the list: said at the list
            exc.field = "machine_ids"
        super()._refused(exc)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        ticked = list(self.query_one("#member-machines", SelectionList).selected)
        self.submit({"machine_ids": [m.id for m in self.machines if str(m.id) in ticked] or None})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
