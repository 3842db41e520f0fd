"""The live dashboard: machine states (coloured, with time in state), the running shift's
KPIs, output against target, each machine's running order and its progress, stops waiting
for a reason, and scrap. Tiles take the focus (Tab, arrows): Enter opens the machine's detail.

One poll at a time: the worker re-arms a timer when it finishes, so a slow server never
piles up requests, and input stays responsive because all I/O runs in the worker.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.widgets import Footer, Label, Select, Static

from factoryos.client import ClientError
from factoryos.client.models import LiveView, OeeReport, ReasonOut, RejectionOut
from tui.screens.inspection import OverdueInspectionsLine
from tui.screens.machine_detail import MachineDetailScreen
from tui.screens.polling import PollingScreen
from tui.widgets.capa_due_line import CapaDueLine
from tui.widgets.header import Header
from tui.widgets.kpi_tile import KpiTile, percent
from tui.widgets.machine_tile import MachineTile, since_text
from tui.widgets.maintenance_due_line import DueMaintenanceLine
from tui.widgets.status_line import ConnectionStatus

TILE_WIDTH = 20
TILE_LINES, ORDER_TILE_LINES = 3, 4  # a running order adds a line to every tile of the site
ALERT_LINES = 5
SHORT_ALERT_LINES = 2  # at 80×24 the stops and the scrap line must fit below the tiles


@dataclass
class Snapshot:
    live: LiveView
    oee: OeeReport | None
    rejections: list[RejectionOut]


class DashboardScreen(PollingScreen):
    BINDINGS = [
        *PollingScreen.BINDINGS,
        Binding("s", "focus_site", "Site", tooltip="Choose the site.", id="site"),
        Binding("l", "focus_line", "Line", tooltip="Filter by line.", id="line"),
        Binding("r", "refresh", "Refresh", tooltip="Refresh now.", id="refresh"),
    ]
    HELP = """\
**Live dashboard**

Refreshes every 2 seconds. **s** site, **l** line filter, **r** refresh now.
Tiles are coloured by machine state and show ✓ good parts (of the target) and ✗ scrap
in this shift, and ▶ the running order with its good parts of the ordered quantity;
⚠ marks stops waiting for a reason. NO DATA: the server cannot read the machine (not a
stop, no reason needed). **Tab** or the arrow keys move between tiles; **Enter** opens
the machine's detail (state through the shift, counts per hour, stops, order, connection).
"""
    DEFAULT_CSS = "DashboardScreen #no-machines { padding: 0 1; }"

    def __init__(self) -> None:
        super().__init__()
        self.site_id: UUID | None = None
        self.line_id: UUID | None = None
        self._reasons: dict[UUID, ReasonOut] = {}
        self._zones: dict[UUID, ZoneInfo] = {}
        self.last: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="dash-filters"):
            yield Label("Site", classes="form-label short")
            yield Select[UUID]([], prompt="loading sites…", id="site-select")
            yield Label("Line", classes="form-label short")
            yield Select[UUID]([], prompt="All lines", id="line-select")
        with Horizontal(id="kpis"):
            yield KpiTile("OEE", id="kpi-oee")
            yield KpiTile("Avail.", id="kpi-availability")
            yield KpiTile("Perf.", id="kpi-performance")
            yield KpiTile("Quality", id="kpi-quality")
            yield KpiTile("vs target", id="kpi-target")
            yield KpiTile("Scrap", id="kpi-scrap")
        with VerticalScroll(id="dash-body"):
            yield Static("", id="dash-shift")
            yield Grid(id="machine-grid")
            yield Static("No active machines here.", id="no-machines")
        # Below the scrolling tiles, so they are never cut off by them.
        yield OverdueInspectionsLine(id="dash-quality")
        yield DueMaintenanceLine(id="dash-maintenance")
        yield CapaDueLine(id="dash-capa")
        yield Static("", id="alerts")
        yield Static("", id="scrap-reasons")
        with Horizontal(id="dash-status"):
            yield ConnectionStatus()
            yield Static("", id="dash-updated")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no-machines", Static).display = False
        self.load_filters()

    # -- filters --------------------------------------------------------------------------------

    @work(exclusive=True, group="filters", exit_on_error=False)
    async def load_filters(self) -> None:
        sites, reasons = await asyncio.gather(self.api.sites(), self.api.reasons(active=None))
        self._reasons = {r.id: r for r in reasons}
        self._zones = {s.id: ZoneInfo(s.timezone) for s in sites}
        select = self.query_one("#site-select", Select)
        if not sites:
            select.prompt = "no sites yet"
            self.query_one("#dash-shift", Static).update("Add a site and machines first (Machines screen).")
            return
        select.set_options((f"{s.code} · {s.name}", s.id) for s in sites)
        select.prompt = "choose a site"  # the blank entry no longer says it is loading
        select.value = sites[0].id  # Changed → lines and the first poll

    @on(Select.Changed, "#site-select")
    async def _site_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, UUID):
            # The blank entry would leave this site's figures under "choose a site": keep the site.
            if self.site_id is not None:
                with self.prevent(Select.Changed):
                    event.select.value = self.site_id
            return
        self.site_id = event.value
        self.line_id = None
        self.load_lines(event.value)
        self.action_refresh()

    @work(exclusive=True, group="lines", exit_on_error=False)
    async def load_lines(self, site_id: UUID) -> None:
        lines = await self.api.lines(site_id=site_id)
        select = self.query_one("#line-select", Select)
        with self.prevent(Select.Changed):
            select.set_options((f"{line.code} · {line.name}", line.id) for line in lines)

    @on(Select.Changed, "#line-select")
    def _line_changed(self, event: Select.Changed) -> None:
        self.line_id = event.value if isinstance(event.value, UUID) else None
        self.action_refresh()

    # -- polling --------------------------------------------------------------------------------

    def can_poll(self) -> bool:
        return self.site_id is not None

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        site_id, line_id = self.site_id, self.line_id
        try:
            if site_id is None:
                return
            snapshot = await self._fetch(site_id, line_id)
        except ClientError as exc:
            if not exc.transient:
                raise
            self.factory.online = False
            self.query_one("#dash-updated", Static).update("server unreachable: showing the last figures")
        else:
            self.factory.online = True
            if (site_id, line_id) == (self.site_id, self.line_id):
                self.last = snapshot
                self._draw(snapshot)
        finally:
            self.poll_again()

    async def _fetch(self, site_id: UUID, line_id: UUID | None) -> Snapshot:
        live = await self.api.live(site_id, line_id=line_id)
        shift = next((m.shift for m in live.machines if m.shift is not None), None)
        oee = None
        rejections: list[RejectionOut] = []
        if shift is not None and live.at > shift.starts_at:
            scope, scope_id = ("line", line_id) if line_id else ("site", site_id)
            oee_task = self.api.oee(scope, scope_id, shift="running")  # the server's shared computation
            if shift.id is not None:
                oee, rejections = await asyncio.gather(oee_task, self.api.rejections(shift_instance_id=shift.id))
            else:
                oee = await oee_task
        ids = {m.machine_id for m in live.machines}
        return Snapshot(live, oee, [r for r in rejections if r.machine_id in ids])

    # -- rendering ------------------------------------------------------------------------------

    def _draw(self, snap: Snapshot) -> None:
        live, now = snap.live, snap.live.at
        zone = self._zones.get(live.site_id)
        shift = next((m.shift for m in live.machines if m.shift is not None), None)
        self.query_one("#dash-updated", Static).update(f"updated {now.astimezone(zone):%H:%M:%S}")
        if shift is None:
            self.query_one("#dash-shift", Static).update("No shift is running now.")
        else:
            start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
            done = (now - shift.starts_at).total_seconds() / max(1.0, (shift.ends_at - shift.starts_at).total_seconds())
            # The name as typed ("Day [A]" is not markup), then the figures.
            self.query_one("#dash-shift", Static).update(Content.assemble(
                (shift.name, "bold"), f" {start:%H:%M}–{end:%H:%M} · {done:.0%} of the shift done"))
        self._draw_kpis(snap)
        self.query_one("#dash-maintenance", DueMaintenanceLine).show_for({m.machine_id for m in live.machines})
        self._draw_grid(snap, now)
        self._draw_alerts(snap, now, zone)
        self._draw_scrap(snap)

    def _draw_kpis(self, snap: Snapshot) -> None:
        kpis = snap.oee.kpis if snap.oee else None
        for name in ("oee", "availability", "performance", "quality"):
            value = getattr(kpis, name) if kpis else None
            shown = None if value is None else min(value, 1.0) if name == "performance" else value
            self.query_one(f"#kpi-{name}", KpiTile).show(percent(shown), shown)
        machines = snap.live.machines
        # Only machines with a target count against it: the others' parts would inflate attainment.
        planned = [m for m in machines if m.target_quantity]
        target = sum(m.target_quantity or 0 for m in planned)
        good = sum(m.good_count for m in (planned or machines))
        ratio = good / target if target else None
        self.query_one("#kpi-target", KpiTile).show(f"{good}/{target}" if target else f"{good}/–", ratio)
        rejects = sum(m.reject_count for m in machines)
        scrap_rate = kpis.scrap_rate if kpis else None
        self.query_one("#kpi-scrap", KpiTile).show(
            f"{rejects} {percent(scrap_rate)}" if scrap_rate is not None else str(rejects))

    def _draw_grid(self, snap: Snapshot, now: datetime) -> None:
        grid = self.query_one("#machine-grid", Grid)
        machines = snap.live.machines
        tiles = self._tiles(grid, len(machines))
        lines = ORDER_TILE_LINES if any(m.order is not None for m in machines) else TILE_LINES
        grid.styles.grid_rows = (lines,)
        for tile, machine in zip(tiles, machines, strict=True):
            tile.styles.height = lines
            tile.show(machine, now)
        self.query_one("#no-machines", Static).display = not machines

    @staticmethod
    def _tiles(grid: Grid, count: int) -> list[MachineTile]:
        """`count` tiles, keeping those shown: extra ones go, missing ones come. Without ids, so a new
        tile never collides with one still being removed (another line chosen before the next frame)."""
        tiles = list(grid.query_children(MachineTile))
        for tile in tiles[count:]:
            tile.remove()
        new = [MachineTile() for _ in range(count - len(tiles))]
        if new:
            grid.mount_all(new)
        return tiles[:count] + new

    def _draw_alerts(self, snap: Snapshot, now: datetime, zone: ZoneInfo | None) -> None:
        waiting = sorted(((m.code, d) for m in snap.live.machines for d in m.pending_downtime),
                         key=lambda pair: pair[1].started_at)
        alerts = self.query_one("#alerts", Static)
        if not waiting:
            alerts.update("✓ No stops are waiting for a reason.")
            alerts.set_classes("alerts-clear")
            return
        shown = ALERT_LINES if self.size.height >= 30 else SHORT_ALERT_LINES
        more = f" · oldest {shown} shown" if len(waiting) > shown else ""
        lines = [f"[b]⚠ {len(waiting)} stop{'s' if len(waiting) != 1 else ''} waiting for a reason[/b]{more}"]
        today = now.astimezone(zone).date()
        for code, event in waiting[:shown]:
            end = event.ended_at or now
            state = "still down" if event.ended_at is None else "ended"
            start = event.started_at.astimezone(zone)
            # A stop from an earlier day still waits: its day is said, or "since 14:00" reads as today.
            since = f"{start:%H:%M}" if start.date() == today else f"{start:%a %H:%M}"
            lines.append(f"  {code}  since {since}  {since_text((end - event.started_at).total_seconds())}  {state}")
        alerts.update("\n".join(lines))
        alerts.set_classes("alerts-waiting")

    def _draw_scrap(self, snap: Snapshot) -> None:
        counts: Counter[str] = Counter()
        for r in snap.rejections:
            reason = self._reasons.get(r.reason_id)
            counts[reason.name if reason else "unknown reason"] += r.quantity
        # The Scrap tile counts what machines counted too: the line accounts for the same total.
        total = max(sum(m.reject_count for m in snap.live.machines), sum(counts.values()))
        unexplained = total - sum(counts.values())
        parts = [f"{name} {qty}" for name, qty in counts.most_common(3)]
        if unexplained:
            parts.append(f"{unexplained} counted by machines, no reason")
        text = f"Scrap {total}: " + ", ".join(parts) if total else "No scrap reported in this shift."
        self.query_one("#scrap-reasons", Static).update(text)

    def on_resize(self, event: Resize) -> None:
        columns = max(1, event.size.width // TILE_WIDTH)
        self.query_one("#machine-grid", Grid).styles.grid_size_columns = columns

    # -- drill-down -----------------------------------------------------------------------------

    @on(MachineTile.Chosen)
    def _open_machine(self, event: MachineTile.Chosen) -> None:
        snap = self.last
        machine = next((m for m in snap.live.machines if m.machine_id == event.machine_id), None) if snap else None
        if snap is None or machine is None:
            return
        self.app.push_screen(MachineDetailScreen(machine, site_id=snap.live.site_id,
                                                 zone=self._zones.get(snap.live.site_id), reasons=self._reasons))

    def action_focus_site(self) -> None:
        self.query_one("#site-select", Select).focus()

    def action_focus_line(self) -> None:
        self.query_one("#line-select", Select).focus()
