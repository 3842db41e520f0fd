"""Administration: members and permission flags, invites, the audit log, and for members
with `admin.system` the license, the server's health, the company's site edges and MQTT
publishing; backups (with restore) and license
activation for installation administrators only, as they span every company.

Tabs appear for what the member may do; each loads when first shown.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer, TabbedContent, TabPane

from factoryos.identity.permissions import INSTALLATION_ADMIN
from tui.screens.base import AppScreen
from tui.screens.sso_admin import SsoPane
from tui.widgets.admin_tab import AdminTab
from tui.widgets.audit_pane import AuditPane
from tui.widgets.backups_pane import BackupsPane
from tui.widgets.edges_pane import EdgesPane
from tui.widgets.header import Header
from tui.widgets.invites_pane import InvitesPane
from tui.widgets.license_pane import LicensePane
from tui.widgets.mqtt_publish_pane import MqttPublishPane
from tui.widgets.system_pane import SystemPane
from tui.widgets.users_pane import UsersPane

TAB_NAMES = {"users": "Users", "invites": "Invites", "audit": "Audit", "license": "License", "backups": "Backup",
             "system": "System", "sign-in": "Sign-in", "edges": "Edges", "mqtt": "MQTT"}
TAB_KEYS = {"users": "F5", "invites": "F6", "audit": "F7", "license": "F8", "backups": "F10", "system": "F12",
            "sign-in": "F4", "edges": "F11", "mqtt": "F3"}
TAB_PADDING = 2  # a tab's label has a cell of padding on each side


class AdminScreen(AppScreen):
    # The tab labels show these keys (when the screen is wide enough for them, `_label_tabs`), which
    # leaves the footer to the open tab's own keys.
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f5", "tab('users')", "Users", id="users", show=False),
        Binding("f6", "tab('invites')", "Invites", id="invites", show=False),
        Binding("f7", "tab('audit')", "Audit", id="audit", show=False),
        Binding("f8", "tab('license')", "License", id="license", show=False),
        Binding("f10", "tab('backups')", "Backups", id="backups", show=False),
        Binding("f12", "tab('system')", "System", id="system", show=False),
        Binding("f4", "tab('sign-in')", "Sign-in", id="sign-in", show=False),
        Binding("f11", "tab('edges')", "Edges", id="edges", show=False),
        Binding("f3", "tab('mqtt')", "MQTT", id="mqtt", show=False),
    ]
    HELP = """\
**Admin**: **F5** members and permissions, **F6** invites, **F7** audit log, **F8** license,
**F10** backups and restore, **F12** server health and settings, **F4** sign-in (directories
and identity providers), **F11** site edges, **F3** MQTT publishing. Tabs your role does not
include are not shown.
"""

    def compose(self) -> ComposeResult:
        s = self.session
        yield Header()
        with TabbedContent(id="admin-tabs"):
            if s.can("permissions.manage"):
                with TabPane(TAB_NAMES["users"], id="users"):
                    yield UsersPane(self.api)
            if s.can("invites.send"):
                with TabPane(TAB_NAMES["invites"], id="invites"):
                    yield InvitesPane(self.api)
            if s.can("audit.view"):
                with TabPane(TAB_NAMES["audit"], id="audit"):
                    yield AuditPane(self.api)
            if s.can("admin.system"):
                with TabPane(TAB_NAMES["license"], id="license"):
                    yield LicensePane(self.api, can_activate=s.can(INSTALLATION_ADMIN))
                if s.can(INSTALLATION_ADMIN):  # backups hold every company's data
                    with TabPane(TAB_NAMES["backups"], id="backups"):
                        yield BackupsPane(self.api)
                with TabPane(TAB_NAMES["system"], id="system"):
                    yield SystemPane(self.api)
                with TabPane(TAB_NAMES["sign-in"], id="sign-in"):  # identity providers (SSO)
                    yield SsoPane(self.api)
                with TabPane(TAB_NAMES["edges"], id="edges"):
                    yield EdgesPane(self.api)
                with TabPane(TAB_NAMES["mqtt"], id="mqtt"):
                    yield MqttPublishPane(self.api)
        yield Footer()

    def on_mount(self) -> None:
        self._label_tabs(self.size.width)
        self._activate(self.query_one(TabbedContent).active)

    def on_resize(self, event: Resize) -> None:
        self._label_tabs(event.size.width)

    def _label_tabs(self, width: int) -> None:
        """Each tab's name with its key ("Edges F11") when every tab fits so; else the names alone (the
        help lists the keys): at 80 columns an owner's nine tabs with keys need about 100, and the
        last ones (Edges, MQTT) were off screen with nothing saying they were there."""
        tabs = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane) if pane.id in TAB_KEYS]
        with_keys = sum(len(f"{TAB_NAMES[p]} {TAB_KEYS[p]}") + TAB_PADDING for p in panes)
        for p in panes:
            tabs.get_tab(p).label = f"{TAB_NAMES[p]} {TAB_KEYS[p]}" if with_keys <= width else TAB_NAMES[p]

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._activate(event.pane.id or "")

    def _activate(self, tab: str) -> None:
        for pane in self.query(f"TabPane#{tab} > *"):
            if isinstance(pane, AdminTab):
                pane.activate()

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.query(f"TabPane#{tab}"):
            tabs.active = tab
            # Into the tab's content, so its keys work at once.
            self.call_after_refresh(lambda: self._focus_pane(tab))
        else:
            self.notify("Your role does not include this.", title="Not allowed", severity="warning")

    def _focus_pane(self, tab: str) -> None:
        pane = self.query_one(TabbedContent).get_pane(tab)
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                return
