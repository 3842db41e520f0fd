"""Company members with their roles, sites and permission flags; Enter edits a member's flags, S their sites,
K the machines they are certified for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input

from factoryos.client import FactoryClient
from factoryos.client.models import ROLE_TITLES, MachineOut, Member, SiteOut
from tui.screens.permissions import PermissionsDialog
from tui.widgets.admin_tab import AdminTab
from tui.widgets.member_machines import MemberMachinesDialog, machines_text
from tui.widgets.member_sites import MemberSitesDialog, sites_text


class UsersPane(AdminTab):
    BINDINGS = [Binding("s", "sites", "Sites", id="member-sites", tooltip="Limit the member to some sites"),
                Binding("k", "machines", "Machines", id="member-machines",
                        tooltip="Limit the member to the machines they are certified for")]
    HELP = ("Type to search by name or email. **Enter** on a member edits their permission flags; "
            "**S** the sites they work at; **K** the machines they are certified for (they then see and "
            "record only those).")

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.members: dict[str, Member] = {}
        self.sites: dict[str, SiteOut] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search name or email, Enter", id="user-search")
        table = DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Email", "Role", "2FA", "Sites", "Extra / removed")
        yield table

    @on(Input.Submitted, "#user-search")
    @work(exclusive=True, group="users", exit_on_error=False)
    async def load(self) -> None:
        query = self.query_one("#user-search", Input).value.strip() or None
        page = await self.api.users(q=query)
        self.sites = {str(s.id): s for s in await self.api.sites()}
        table = self.query_one("#users-table", DataTable)
        table.clear()
        self.members = {str(m.id): m for m in page.items}
        for m in page.items:
            flags = " ".join([f"+{p}" for p in m.granted] + [f"-{p}" for p in m.denied])
            table.add_row(m.display_name or "", m.email, ROLE_TITLES.get(m.role, m.role),
                          "on" if m.mfa_enabled else "", machines_text(m) + sites_text(m, self.sites), flags,
                          key=str(m.id))

    def _selected(self) -> Member | None:
        table = self.query_one("#users-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.members.get(str(key.value))

    @on(DataTable.RowSelected, "#users-table")
    def _edit(self, event: DataTable.RowSelected) -> None:
        member = self.members.get(str(event.row_key.value))
        if member is None:
            return
        if member.role == "owner":
            self.app.notify("The owner always holds every permission.", title="Owner", severity="warning")
            return

        def save(result: tuple[list[str], list[str]] | None) -> None:
            if result is not None:
                self.save(member.id, *result)

        self.app.push_screen(PermissionsDialog(member), save)

    def action_sites(self) -> None:
        member = self._selected()
        if member is None:
            return
        if member.role == "owner":
            self.app.notify("The owner always sees every site.", title="Owner", severity="warning")
            return

        kept: list[Member] = []

        async def save(body: dict[str, Any]) -> None:
            kept.append(await self.api.set_member_sites(member.id, body["site_ids"]))

        def saved(body: dict[str, Any] | None) -> None:
            if body is not None and kept:
                result = kept[-1]
                self.app.notify(f"Saved the sites of {result.display_name or result.email}: "
                                f"{sites_text(result, self.sites)}.", title="Saved")
                self.load()

        self.app.push_screen(MemberSitesDialog(member, list(self.sites.values()), save), saved)

    def action_machines(self) -> None:
        member = self._selected()
        if member is None:
            return
        if member.role == "owner":
            self.app.notify("The owner always sees every machine.", title="Owner", severity="warning")
            return
        self.pick_machines(member)

    @work(group="users-machines", exit_on_error=False)
    async def pick_machines(self, member: Member) -> None:
        machines: list[MachineOut] = await self.api.machines()
        if not machines:
            self.app.notify("Add machines first: there is none to certify anyone for.", title="Machines",
                            severity="warning")
            return
        kept: list[Member] = []

        async def save(body: dict[str, Any]) -> None:
            kept.append(await self.api.set_member_machines(member.id, body["machine_ids"]))

        def saved(body: dict[str, Any] | None) -> None:
            if body is not None and kept:
                result = kept[-1]
                which = (f"{len(result.machine_ids)} certified machine(s)" if result.machine_ids is not None
                         else "every machine of their sites")
                self.app.notify(f"{result.display_name or result.email} now sees {which}.", title="Saved")
                self.load()

        self.app.push_screen(MemberMachinesDialog(member, machines, self.sites, save), saved)

    @work(group="users-save", exit_on_error=False)
    async def save(self, user_id: UUID, granted: list[str], denied: list[str]) -> None:
        member = await self.api.set_permissions(user_id, granted=granted, denied=denied)
        self.app.notify(f"Saved the permissions of {member.display_name or member.email}.", title="Saved")
        self.load()
