"""Open invites: create one for a role (its code is shown once), revoke with Delete."""

from __future__ import annotations

from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Select

from factoryos.client import FactoryClient
from factoryos.client.models import INVITABLE_ROLES, ROLE_TITLES
from tui.screens.confirm import Confirm
from tui.screens.invite_code import InviteCodeDialog
from tui.widgets.admin_tab import AdminTab


class InvitesPane(AdminTab):
    BINDINGS = [Binding("delete", "revoke", "Revoke", tooltip="Revoke the selected invite.", id="revoke")]
    HELP = "Choose a role and press **Create invite**: the code is shown once. **Delete** revokes an invite."

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Select([(ROLE_TITLES[r], r) for r in INVITABLE_ROLES], value="operator", allow_blank=False,
                         id="invite-role")
            yield Button("Create invite", variant="primary", id="invite-create")
        table = DataTable(id="invites-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Code", "Role", "Created", "Expires")
        yield table

    @work(exclusive=True, group="invites", exit_on_error=False)
    async def load(self) -> None:
        page = await self.api.invites()
        table = self.query_one("#invites-table", DataTable)
        table.clear()
        for i in page.items:
            table.add_row(i.code_hint, ROLE_TITLES.get(i.role, i.role), f"{i.created_at.astimezone():%d %b %H:%M}",
                          f"{i.expires_at.astimezone():%d %b %H:%M}", key=str(i.id))

    @on(Button.Pressed, "#invite-create")
    @work(group="invite-create", exit_on_error=False)
    async def create(self) -> None:
        role = self.query_one("#invite-role", Select).value
        invite = await self.api.create_invite(str(role))
        await self.app.push_screen(InviteCodeDialog(invite))
        self.load()

    def action_revoke(self) -> None:
        table = self.query_one("#invites-table", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        hint = table.get_row(key)[0]

        def answer(yes: bool | None) -> None:
            if yes:
                self.revoke(UUID(str(key)))

        self.app.push_screen(Confirm(f"Revoke invite {hint}? Its code stops working at once.", "Revoke"), answer)

    @work(group="invite-revoke", exit_on_error=False)
    async def revoke(self, invite_id: UUID) -> None:
        await self.api.revoke_invite(invite_id)
        self.app.notify("Invite revoked.", title="Revoked")
        self.load()
