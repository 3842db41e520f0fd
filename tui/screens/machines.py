"""Machines: the registry with ideal cycle, status mapping and connection health (state,
last ok, last error, from the live view); create and edit machines, and with
`machines.manage` view and edit how the poller reaches each one (**c**). *Jumps* counts the
counter jumps waiting for a decision; with `production.plan`, **a** opens them.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer

from factoryos.client.models import LineOut, MachineOut, SiteOut
from factoryos.connectivity.connection_models import LiveConnection
from tui.markup import escape
from tui.screens.anomalies import AnomaliesScreen
from tui.screens.base import AppScreen
from tui.screens.connection_form import ConnectionForm, health_text
from tui.screens.machine_form import MachineForm
from tui.status_mapping import format_mapping
from tui.widgets.header import Header


def connection_state(link: LiveConnection | None) -> str:
    if link is None:
        return "none"
    if not link.enabled:
        return "paused"
    if link.health.state == "reconnecting":  # new settings saved, not polled with them yet
        return "reconnecting"
    if link.health.last_error:
        return "FAILING"
    return "ok" if link.health.last_ok else "waiting"


def last_ok(link: LiveConnection | None, zone: ZoneInfo) -> str:
    """In the machine's site time, like the dashboard (never the terminal's own clock)."""
    moment = link.health.last_ok if link else None
    return f"{moment.astimezone(zone):%m-%d %H:%M:%S}" if moment else ""


class MachinesScreen(AppScreen):
    ACTION_PERMISSIONS = {"new": ("machines.manage",), "connection": ("machines.manage",),
                          "anomalies": ("production.plan",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("n", "new", "New", tooltip="Register a machine.", id="new"),
        Binding("c", "connection", "Connection", tooltip="View or edit how the poller reaches the machine.",
                id="connection"),
        Binding("a", "anomalies", "Jumps", tooltip="Accept or discard the machine's counter jumps.", id="anomalies"),
        Binding("r", "reload", "Reload", tooltip="Load the list again.", id="reload"),
    ]
    HELP = """\
**Machines**: **Enter** edits the selected machine, **n** adds one, **c** shows and edits its
connection (protocol, endpoint, signals, polling on or paused). Editing needs machines.manage.
*Conn* is the poller's view: ok, FAILING (see *Last error*), waiting, paused or none.
*Jumps*: counter readings larger than the machine could make, not counted until a supervisor
decides; **a** lists them to accept or discard (needs production.plan).
"""

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[SiteOut] = []
        self.lines: list[LineOut] = []
        self.machines: dict[str, MachineOut] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        table = DataTable(id="machines-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Code", "Name", "Conn", "Jumps", "Last ok", "Last error", "Site", "Line", "Cycle s",
                          "Status", "Status mapping")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="machines", exit_on_error=False)
    async def load(self) -> None:
        self.sites, self.lines, machines = await asyncio.gather(
            self.api.sites(), self.api.lines(), self.api.machines(status=None))
        views = await asyncio.gather(*(self.api.live(s.id) for s in self.sites))
        links = {m.machine_id: m.connection for view in views for m in view.machines}
        jumps = {m.machine_id: m.pending_anomalies for view in views for m in view.machines}
        site_codes = {s.id: s.code for s in self.sites}
        zones = {s.id: ZoneInfo(s.timezone) for s in self.sites}
        line_codes = {line.id: line.code for line in self.lines}
        table = self.query_one("#machines-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        self.machines = {str(m.id): m for m in machines}
        for m in sorted(machines, key=lambda m: m.code):
            link = links.get(m.id)
            error = (link.health.last_error or "") if link else ""
            waiting = jumps.get(m.id, 0)
            table.add_row(m.code, m.name, connection_state(link), str(waiting) if waiting else "",
                          last_ok(link, zones.get(m.site_id, ZoneInfo("UTC"))),
                          error[:60], site_codes.get(m.site_id, ""), line_codes.get(m.line_id, "") if m.line_id else "",
                          f"{m.ideal_cycle_seconds:g}", m.status, format_mapping(m.status_mapping), key=str(m.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def _check_can_manage(self) -> bool:
        if not self.session.can("machines.manage"):
            self.notify("Your role does not include managing machines.", title="Not allowed", severity="warning")
            return False
        return True

    def action_new(self) -> None:
        if not self._check_can_manage():
            return
        if not self.sites:
            self.notify("Add a site first.", title="No site", severity="warning")
            return
        self.app.push_screen(MachineForm(self.sites, self.lines, save=lambda body: self.save(None, body)),
                             lambda body: self._saved(body))

    @on(DataTable.RowSelected, "#machines-table")
    def _edit(self, event: DataTable.RowSelected) -> None:
        machine = self.machines.get(str(event.row_key.value))
        if machine is None or not self._check_can_manage():
            return
        self.app.push_screen(MachineForm(self.sites, self.lines, machine, save=lambda body: self.save(machine.id, body)),
                             lambda body: self._saved(body))

    def action_connection(self) -> None:
        table = self.query_one("#machines-table", DataTable)
        if table.row_count == 0 or not self._check_can_manage():
            return
        machine = self.machines.get(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))
        if machine is not None:
            self.open_connection(machine)

    def action_anomalies(self) -> None:
        table = self.query_one("#machines-table", DataTable)
        if table.row_count == 0:
            return
        if not self.session.can("production.plan"):
            self.notify("Your role cannot accept or discard counter jumps (production.plan).", title="Not allowed",
                        severity="warning")
            return
        machine = self.machines.get(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))
        if machine is None:
            return
        self.app.push_screen(AnomaliesScreen(machine, self._zone(machine)), lambda _: self.load())

    def _zone(self, machine: MachineOut) -> ZoneInfo:
        site = next((s for s in self.sites if s.id == machine.site_id), None)
        return ZoneInfo(site.timezone) if site else ZoneInfo("UTC")

    @work(exclusive=True, group="machine-connection", exit_on_error=False)
    async def open_connection(self, machine: MachineOut) -> None:
        current = await self.api.connection(machine.id)
        zone = self._zone(machine)
        if current is not None and current.protocol not in ("modbus", "opcua"):
            # The form edits PLC connections; a broker connection is set through the API for now.
            self.app.notify(f"{escape(machine.code)} reports over {current.protocol.upper()}: change its connection "
                            "through the API (PUT /api/v1/machines/{id}/connection). "
                            f"{health_text(current.health, current.enabled, zone)}", title="Connection", timeout=12)
            return

        def closed(changed: bool | None) -> None:
            if changed:
                self.load()

        self.app.push_screen(ConnectionForm(self.api, machine, current, zone), closed)

    async def save(self, machine_id: UUID | None, body: dict[str, Any]) -> None:
        """Run by the form, which stays open with the reason when the server refuses."""
        if machine_id is None:
            saved = await self.api.create_machine(body)
        else:
            saved = await self.api.update_machine(machine_id, body)
        self.notify(f"Saved machine {saved.code}.", title="Saved")

    def _saved(self, body: dict[str, Any] | None) -> None:
        if body is None:
            return
        if self.session.reference is not None:
            self.session.reference = None  # operator screens load the registry again
        self.load()
