"""Administration: members and permission flags, invites, the audit log.

Tabs appear for what the member may do. Later tabs (license, backups, system health)
are one `TabPane` each.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from tui.screens.base import AppScreen
from tui.widgets.audit_pane import AuditPane
from tui.widgets.invites_pane import InvitesPane
from tui.widgets.users_pane import UsersPane


class AdminScreen(AppScreen):
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f5", "tab('users')", "Users", id="users"),
        Binding("f6", "tab('invites')", "Invites", id="invites"),
        Binding("f7", "tab('audit')", "Audit", id="audit"),
    ]
    HELP = "**Admin**: **F5** members and permissions, **F6** invites, **F7** audit log."

    def compose(self) -> ComposeResult:
        s = self.session
        yield Header()
        with TabbedContent(id="admin-tabs"):
            if s.can("permissions.manage"):
                with TabPane("Users F5", id="users"):
                    yield UsersPane(self.api)
            if s.can("invites.send"):
                with TabPane("Invites F6", id="invites"):
                    yield InvitesPane(self.api)
            if s.can("audit.view"):
                with TabPane("Audit log F7", id="audit"):
                    yield AuditPane(self.api)
        yield Footer()

    def on_mount(self) -> None:
        self._activate(self.query_one(TabbedContent).active)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._activate(event.pane.id or "")

    def _activate(self, tab: str) -> None:
        for pane in self.query(f"TabPane#{tab} > *"):
            if isinstance(pane, (UsersPane, InvitesPane, AuditPane)):
                pane.activate()

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.query(f"TabPane#{tab}"):
            tabs.active = tab
        else:
            self.notify("Your role does not include this.", title="Not allowed", severity="warning")
