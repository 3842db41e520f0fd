"""Step 4, Set Up Roles: the roles and their permission bundles, and where to change members'."""

from __future__ import annotations

from itertools import groupby

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from factoryos.client.models import PERMISSIONS, ROLE_TITLES, ROLES
from tui.widgets.wizard.base import WizardPane

OWNER_NOTE = "everything; one per company, cannot be changed or removed"


def bundle_text(role: str) -> str:
    """`orders view+act · assets view` — a role's permissions grouped by area, in the API's order."""
    held = [p for p in PERMISSIONS if p in ROLES[role]]
    if role == "owner":
        return OWNER_NOTE
    if len(held) == len(PERMISSIONS):
        return "everything, like the owner (and can be changed)"
    parts = []
    for area, perms in groupby(held, key=lambda p: p.split(".")[0]):
        # Everything after the area, so `maintenance.workorder.trigger` reads `workorder-trigger`.
        parts.append(f"{area} {'+'.join(p.split('.', 1)[1].replace('.', '-') for p in perms)}")
    return " · ".join(parts)


def roles_table() -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("Role", no_wrap=True)
    table.add_column("May")
    for role in ROLES:
        table.add_row(ROLE_TITLES[role], bundle_text(role))
    return table


class RolesPane(WizardPane):
    step = "setup_roles"
    FIRST_FOCUS = "#wr-admin"
    BINDINGS = [Binding("f6", "open_admin", "Admin", tooltip="Members and their permission flags.", id="wr-open")]
    HELP = """\
**Set Up Roles**: each member has one role, a bundle of permissions. New staff get exactly
their role's bundle; in **Admin › Users** (F6) owners and admins grant or remove single
permissions per member, checked on the member's next action. Nobody grants themselves
`permissions.manage`, and the owner cannot be changed.
"""

    def compose(self) -> ComposeResult:
        yield Static("Each member gets one role. Pick roles when you invite people (next step); single "
                     "permissions per member can be added or removed later in Admin › Users.",
                     classes="wizard-intro")
        with VerticalScroll(id="wr-scroll"):
            yield Static(roles_table(), id="wr-table")
        yield Button("Open Admin (F6)", id="wr-admin")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "wr-admin":
            self.action_open_admin()

    def action_open_admin(self) -> None:
        session = self.session
        if not any(session.can(p) for p in ("permissions.manage", "invites.send", "audit.view")):
            self.app.notify("Your role does not include Admin.", title="Not allowed", severity="warning")
            return
        from tui.screens.admin import AdminScreen

        self.app.push_screen(AdminScreen())
