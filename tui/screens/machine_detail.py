"""One machine in detail, opened from the dashboard: its state over the running shift as a
text Gantt, counts per hour against the target, the shift's stops with their reasons (and
those still waiting for one), the running order and the connection's health.

Polls like the dashboard (one request set at a time, re-armed by a timer). Giving a stop its
reason (`g`) needs `production.entry`: the key is neither shown nor active without it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError
from factoryos.client.models import DowntimeOut, LiveMachine, MachineTimeline, ReasonOut
from tui.markup import escape
from tui.screens.polling import PollingScreen
from tui.screens.stop_reason import StopReasonDialog
from tui.widgets.header import Header
from tui.widgets.kpi_tile import percent
from tui.widgets.machine_tile import STATE_NAMES, since_text
from tui.widgets.shift_timeline import gantt, hour_lines
from tui.widgets.status_line import ConnectionStatus

NO_SHIFT_HOURS = 8  # without a running shift: the last hours


@dataclass
class Detail:
    machine: LiveMachine
    at: datetime
    start: datetime
    end: datetime
    timeline: MachineTimeline
    stops: list[DowntimeOut]


class MachineDetailScreen(PollingScreen):
    BINDINGS = [
        *PollingScreen.BINDINGS,
        Binding("g", "give_reason", "Give reason", tooltip="Give a stop waiting for a reason its reason.",
                id="give-reason"),
        Binding("r", "refresh", "Refresh", tooltip="Refresh now.", id="refresh"),
    ]
    ACTION_PERMISSIONS = {"give_reason": ("production.entry",)}
    HELP = """\
**Machine detail**

The state of the machine through the shift (one character per few minutes, the legend
below it), good parts per hour against the target, the shift's stops and the running
order. **g** gives a stop waiting for a reason its reason, **r** refreshes, **Escape**
goes back to the dashboard. Scroll with the arrow keys or Page Up/Down.
"""
    DEFAULT_CSS = """
    MachineDetailScreen #md-summary { height: auto; padding: 0 1; }
    MachineDetailScreen #md-body { height: 1fr; padding: 0 1; }
    MachineDetailScreen .md-title { text-style: bold; color: $accent; margin-top: 1; }
    MachineDetailScreen #md-gantt-title { margin-top: 0; }
    MachineDetailScreen #md-stops { height: auto; max-height: 12; }
    MachineDetailScreen #md-status { height: 1; }
    MachineDetailScreen #md-updated { width: 1fr; content-align: right middle; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, machine: LiveMachine, *, site_id: UUID, zone: ZoneInfo | None,
                 reasons: dict[UUID, ReasonOut]) -> None:
        super().__init__()
        self.machine = machine
        self.site_id = site_id
        self.zone = zone
        self.reasons = reasons
        self.last: Detail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"[b]{escape(self.machine.code)}[/b] · {escape(self.machine.name)} · loading…", id="md-summary")
        with VerticalScroll(id="md-body"):
            yield Static("State", classes="md-title", id="md-gantt-title")
            yield Static("", id="md-gantt")
            yield Static("Good parts per hour / target", classes="md-title")
            yield Static("", id="md-hours")
            yield Static("Stops", classes="md-title", id="md-stops-title")
            table: DataTable[str] = DataTable(id="md-stops", cursor_type="row", zebra_stripes=True)
            # Fixed widths: "Mon 07:10", "1h05m so far", "unplanned"; never re-measured between polls.
            for label, width in (("Start", 9), ("Length", 12), ("Kind", 9), ("Reason", 36)):
                table.add_column(label, width=width)
            yield table
        with Horizontal(id="md-status"):
            yield ConnectionStatus()
            yield Static("", id="md-updated")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#md-body").focus()
        self.action_refresh()

    # -- polling --------------------------------------------------------------------------------

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        try:
            detail = await self._fetch()
        except ClientError as exc:
            if not exc.transient:
                raise
            self.factory.online = False
            self.query_one("#md-updated", Static).update("server unreachable: showing the last figures")
        else:
            self.factory.online = True
            if detail is None:
                self.query_one("#md-summary", Static).update(
                    f"[b]{escape(self.machine.code)}[/b] is no longer an active machine of this site.")
                return
            self.last = detail
            self.machine = detail.machine
            self._draw(detail)
        finally:
            self.poll_again()

    async def _fetch(self) -> Detail | None:
        live = await self.api.live(self.site_id, line_id=self.machine.line_id)
        machine = next((m for m in live.machines if m.machine_id == self.machine.machine_id), None)
        if machine is None:
            return None
        now = live.at
        if machine.shift is not None:
            start, end = machine.shift.starts_at, machine.shift.ends_at
        else:
            end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            start = end - timedelta(hours=NO_SHIFT_HOURS)
        timeline, stops = await asyncio.gather(
            self.api.timeline(machine.machine_id, start, end),
            self.api.downtime(machine_id=machine.machine_id, since=start, until=min(end, now)),
        )
        return Detail(machine, now, start, end, timeline, sorted(stops, key=lambda s: s.started_at))

    # -- rendering ------------------------------------------------------------------------------

    def _draw(self, d: Detail) -> None:
        self.query_one("#md-updated", Static).update(f"updated {d.at.astimezone(self.zone):%H:%M:%S}")
        self.query_one("#md-summary", Static).update("\n".join(self._summary(d)))
        width = max(20, self.size.width - 4)
        picture = gantt(d.timeline.states, d.start, d.end, d.at, self.zone, width)
        shift = d.machine.shift
        if shift is not None:
            start, end = shift.starts_at.astimezone(self.zone), shift.ends_at.astimezone(self.zone)
            period = f"{shift.name} {start:%H:%M}–{end:%H:%M}"
        else:
            period = f"the last {NO_SHIFT_HOURS} hours (no shift is running)"
        self.query_one("#md-gantt-title", Static).update(  # plain: a shift's name ("Day [A]") is not markup
            Content(f"State · {period} · 1 character = {picture.step_minutes} min"))
        self.query_one("#md-gantt", Static).update(f"{picture.bar}\n{picture.axis}\n{picture.legend}")
        bar = max(8, min(40, width - 46))
        lines = hour_lines(d.timeline.hours, d.machine.target_quantity, d.machine.shift, d.at, self.zone, bar,
                           d.timeline.states)
        if not d.machine.target_quantity:
            lines.append("[dim]No target is planned for this shift (Planning sets one).[/dim]")
        self.query_one("#md-hours", Static).update("\n".join(lines) or "No hours in this period.")
        self._draw_stops(d)

    def _summary(self, d: Detail) -> list[str]:
        m = d.machine
        state = STATE_NAMES.get(m.state or "", "NO SIGNAL")
        if m.state and m.state_since is not None:
            state += f" {since_text((d.at - m.state_since).total_seconds())}"
        target = f"/{m.target_quantity}" if m.target_quantity else ""
        oee = f" · OEE {percent(m.kpis.oee)}" if m.kpis is not None else ""
        lines = [f"[b]{escape(m.code)}[/b] · {escape(m.name)} · [b]{state}[/b] · "
                 f"✓{m.good_count}{target} ✗{m.reject_count}{oee}"]
        lines.append(self._order_line(m, d.at))
        lines.append(self._health_line(m))
        return lines

    def _order_line(self, m: LiveMachine, now: datetime) -> str:
        order = m.order
        if order is None:
            return "Order –  (nothing runs on this machine now)"
        finish = order.expected_finish.astimezone(self.zone)
        when = f"{finish:%H:%M}" if finish.date() == now.astimezone(self.zone).date() else f"{finish:%a %d %b %H:%M}"
        done = "done" if order.good >= order.ordered else f"finish ~{when}"
        return (f"Order [b]{escape(order.order_number)}[/b] · {escape(order.product)} · {order.operation_seq} "
                f"{escape(order.operation)} · {order.good}/{order.ordered} ({order.progress:.0%}) · {done}")

    def _health_line(self, m: LiveMachine) -> str:
        link = m.connection
        if link is None:
            return "Connection: none, counts are entered by hand"
        h = link.health
        seen = f", last read {h.last_ok.astimezone(self.zone):%H:%M:%S}" if h.last_ok else ", never read yet"
        words = {"ok": "[$success]OK[/]", "error": "[$error]ERROR[/]", "reconnecting": "[$warning]connecting[/]",
                 "disabled": "off"}
        error = f" · {escape(h.last_error)}" if h.state == "error" and h.last_error else ""
        return f"Connection: {link.protocol} {words.get(h.state, h.state)}{seen}{error}"

    def _draw_stops(self, d: Detail) -> None:
        table = self.query_one("#md-stops", DataTable)
        waiting_before = [s for s in d.machine.pending_downtime if s.started_at < d.start]
        rows = [*sorted(waiting_before, key=lambda s: s.started_at), *d.stops]
        waiting = sum(1 for s in rows if s.needs_reason)
        title = f"Stops · {len(d.stops)} in this {'shift' if d.machine.shift else 'period'}"
        title += f" · [$warning]⚠ {waiting} waiting for a reason[/]" if waiting else ""
        self.query_one("#md-stops-title", Static).update(title)
        keep = table.cursor_row
        table.clear()
        for stop in rows:
            start = stop.started_at.astimezone(self.zone)
            shown = f"{start:%H:%M}" if stop.started_at >= d.start else f"{start:%a %H:%M}"
            end = stop.ended_at or d.at
            length = since_text((end - stop.started_at).total_seconds()) + ("" if stop.ended_at else " so far")
            kind = "planned" if stop.planned else "unplanned"
            table.add_row(shown, length, kind, self._reason_text(stop), key=str(stop.id))
        if not rows:
            table.add_row("", "", "", "No stops.", key="none")
        elif 0 <= keep < table.row_count:
            table.move_cursor(row=keep)

    def _reason_text(self, stop: DowntimeOut) -> str:
        if stop.reason_id is not None:
            reason = self.reasons.get(stop.reason_id)
            return reason.name if reason else "reason given"
        return "⚠ waiting for a reason" if stop.needs_reason else "no reason needed"

    # -- actions --------------------------------------------------------------------------------

    def action_give_reason(self) -> None:
        waiting = sorted(self.machine.pending_downtime, key=lambda s: s.started_at, reverse=True)
        if not waiting:
            self.notify(f"No stop of {self.machine.code} is waiting for a reason.", title="Nothing to give")
            return
        table = self.query_one("#md-stops", DataTable)
        chosen = None
        if table.row_count and table.cursor_row >= 0:
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
            chosen = next((s.id for s in waiting if str(s.id) == key), None)
        reasons = list(self.reasons.values())
        self.app.push_screen(StopReasonDialog(self.machine.code, waiting, reasons, self.zone, chosen),
                             self._reason_given)

    def _reason_given(self, saved: bool | None) -> None:
        if saved:
            self.action_refresh()
