"""The start screen after sign-in: the areas this member may use, one key each.

Later areas (reports, backups, license, onboarding) are one `MenuItem` each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from tui.screens.base import AppScreen
from tui.widgets.header import Header
from tui.widgets.onboarding_banner import OnboardingBanner
from tui.widgets.status_line import ConnectionStatus


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    permissions: tuple[str, ...]  # any of them opens the area; empty: everyone
    screen: Callable[[], Screen[None]]


def _operator() -> Screen[None]:
    from tui.screens.operator import OperatorScreen

    return OperatorScreen()


def _dashboard() -> Screen[None]:
    from tui.screens.dashboard import DashboardScreen

    return DashboardScreen()


def _machines() -> Screen[None]:
    from tui.screens.machines import MachinesScreen

    return MachinesScreen()


def _planning() -> Screen[None]:
    from tui.screens.planning import PlanningScreen

    return PlanningScreen()


def _reports() -> Screen[None]:
    from tui.screens.reports import ReportsScreen

    return ReportsScreen()


def _orders() -> Screen[None]:
    from tui.screens.orders import OrdersScreen

    return OrdersScreen()


def _admin() -> Screen[None]:
    from tui.screens.admin import AdminScreen

    return AdminScreen()


def _onboarding() -> Screen[None]:
    from tui.screens.onboarding import OnboardingScreen

    return OnboardingScreen()


def _maintenance() -> Screen[None]:
    from tui.screens.maintenance import MaintenanceScreen

    return MaintenanceScreen()


def _quality() -> Screen[None]:
    from tui.screens.quality_list import QualityScreen

    return QualityScreen()


def _trace() -> Screen[None]:
    from tui.screens.materials_trace import TraceScreen

    return TraceScreen()


def _security() -> Screen[None]:
    from tui.screens.mfa import MfaScreen

    return MfaScreen()


MENU: tuple[MenuItem, ...] = (
    MenuItem("1", "Operator input", ("production.entry",), _operator),
    MenuItem("2", "Dashboard", ("assets.view",), _dashboard),
    MenuItem("3", "Machines", ("assets.view",), _machines),
    MenuItem("4", "Planning", ("production.plan",), _planning),
    MenuItem("5", "Admin", ("permissions.manage", "invites.send", "audit.view", "admin.system"), _admin),
    MenuItem("6", "Two-factor sign-in", (), _security),
    MenuItem("7", "Reports", ("reports.export",), _reports),
    MenuItem("8", "Orders", ("orders.view",), _orders),
    MenuItem("9", "Maintenance", ("maintenance.view",), _maintenance),
    MenuItem("0", "Company setup", ("admin.system",), _onboarding),
    MenuItem("q", "Quality", ("quality.inspect",), _quality),
    MenuItem("t", "Trace lots", ("inventory.view",), _trace),
)


class HomeScreen(AppScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", show=False),
        *(Binding(item.key, f"open('{item.key}')", item.label, show=False) for item in MENU),
        Binding("ctrl+o", "sign_out", "Sign out", tooltip="End this session and return to sign-in.", id="sign-out"),
        Binding("ctrl+q", "app.quit", "Quit", tooltip="Leave FactoryOS."),
    ]
    HELP = """\
**Start**

Press the number of an area, or move with the arrow keys / Tab and press **Enter**.
**Escape** in any area comes back here. **Ctrl+O** signs out.
**F9** switches the high-contrast theme on or off.
"""

    def compose(self) -> ComposeResult:
        session = self.session
        yield Header()
        with Vertical(id="home"):
            yield Static(f"{session.who} · {session.me.role_title} · {session.me.company.name}", id="home-who",
                         markup=False)  # names as typed: "Acme [Linz]" is not markup
            yield ConnectionStatus(id="status")
            yield OnboardingBanner(id="home-onboarding")
            with Grid(id="menu"):
                for item in self.items:
                    yield Button(f"{item.key}  {item.label}", id=f"menu-{item.key}", classes="menu-button")
        yield Footer()

    @property
    def items(self) -> list[MenuItem]:
        session = self.session
        return [i for i in MENU if not i.permissions or any(session.can(p) for p in i.permissions)]

    def on_mount(self) -> None:
        buttons = self.query(".menu-button")
        if buttons:
            buttons.first().focus()

    @on(Button.Pressed, ".menu-button")
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_open((event.button.id or "").removeprefix("menu-"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":  # the digits of areas this role cannot open are not keys at all
            if self.factory.session is None or not parameters:
                return False
            return any(i.key == parameters[0] for i in self.items)
        return super().check_action(action, parameters)

    def action_open(self, key: str) -> None:
        item = next((i for i in self.items if i.key == key), None)
        if item is None:
            self.notify("Your role does not include this area.", title="Not allowed", severity="warning")
            return
        self.app.push_screen(item.screen())

    def action_back(self) -> None:
        """The start screen has nothing to go back to (sign out with Ctrl+O)."""

    def action_sign_out(self) -> None:
        # On the app, not this screen: signing out removes this screen, which would cancel its
        # own worker halfway through the switch and leave the app waiting forever.
        self.app.run_worker(self.factory.end_session(), group="session", exclusive=True, exit_on_error=False)
