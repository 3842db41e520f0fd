"""Company members with their roles and permission flags; Enter edits a member's flags."""

from __future__ import annotations

from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from factoryos.client import FactoryClient
from factoryos.client.models import ROLE_TITLES, Member
from tui.screens.permissions import PermissionsDialog
from tui.widgets.admin_tab import AdminTab


class UsersPane(AdminTab):
    HELP = "Type to search by name or email. **Enter** on a member edits their permission flags."

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.members: dict[str, Member] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search name or email, Enter", id="user-search")
        table = DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Email", "Role", "2FA", "Extra / removed")
        yield table

    @on(Input.Submitted, "#user-search")
    @work(exclusive=True, group="users", exit_on_error=False)
    async def load(self) -> None:
        query = self.query_one("#user-search", Input).value.strip() or None
        page = await self.api.users(q=query)
        table = self.query_one("#users-table", DataTable)
        table.clear()
        self.members = {str(m.id): m for m in page.items}
        for m in page.items:
            flags = " ".join([f"+{p}" for p in m.granted] + [f"-{p}" for p in m.denied])
            table.add_row(m.display_name or "", m.email, ROLE_TITLES.get(m.role, m.role),
                          "on" if m.mfa_enabled else "", flags, key=str(m.id))

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

    @work(group="users-save", exit_on_error=False)
    async def save(self, user_id: UUID, granted: list[str], denied: list[str]) -> None:
        member = await self.api.set_permissions(user_id, granted=granted, denied=denied)
        self.app.notify(f"Saved the permissions of {member.display_name or member.email}.", title="Saved")
        self.load()
