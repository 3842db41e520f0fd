"""Inspections at the machine: the due line on the operator screen and the list it opens (F10).

The line says what is due on the chosen machine (first article, every N parts, every T
minutes, per shift) and turns red once overdue; it polls while the operator screen shows,
re-armed after each read. The list shows what is due first, then the other plans of the
machine and of the product running on it; Enter opens the entry form.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING
from uuid import UUID

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError
from factoryos.client.models import MachineOut
from factoryos.quality.inspection_models import TRIGGER_TEXT, DueInspection
from tui.errors import describe
from tui.markup import escape as plain
from tui.screens.base import AppScreen
from tui.widgets.header import Header

if TYPE_CHECKING:
    from tui.app import FactoryApp

INSPECT = "quality.inspect"
POLL_SECONDS = 30.0


def due_text(items: list[DueInspection], zone: tzinfo | None, width: int | None = None) -> str:
    """One line for the operator: the most urgent inspection and how many more.

    Within `width` columns the plan and its reason give way ("…"), never the time, the count or
    the key that opens the list: those are what the operator acts on."""
    if not items:
        return "No inspection due · [b]F10[/b] inspections"
    first = sorted(items, key=lambda i: (not i.overdue, i.due_since is None, i.due_since))[0]
    since = f" since {first.due_since.astimezone(zone):%H:%M}" if first.due_since and zone else ""
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    word, words = (("[b reverse] OVERDUE [/] inspection", " OVERDUE  inspection") if first.overdue
                   else ("[b]Inspection due[/b]", "Inspection due"))
    why = first.reasons[0] if first.reasons else TRIGGER_TEXT[first.trigger]
    what = f"{first.plan_name} · {why}"
    if width:
        room = width - cell_len(f"{words}: {since}{more} · F10 inspect")
        cut = Text(what)
        cut.truncate(max(room, 1), overflow="ellipsis")
        what = cut.plain
    return f"{word}: {plain(what)}{since}{more} · [b]F10[/b] inspect"


class DueInspectionsLine(Static):
    """What is due on the operator's machine; empty for a role that does not inspect."""

    DEFAULT_CSS = """
    DueInspectionsLine { height: 1; padding: 0 1; color: $text-warning; display: none; }
    DueInspectionsLine.-due { display: block; }
    DueInspectionsLine.-overdue { color: $text-error; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.machine: MachineOut | None = None
        self.zone: tzinfo | None = None
        self.items: list[DueInspection] = []
        self._timer: Timer | None = None

    @property
    def factory(self) -> FactoryApp:
        return self.app  # type: ignore[return-value]

    def on_resize(self, event: events.Resize) -> None:
        # Shown (or the terminal resized) only now: the line fits the width it has.
        if self.items:
            self.update(due_text(self.items, self.zone, self.content_size.width))

    def show_for(self, machine: MachineOut | None, zone: tzinfo | None) -> None:
        self.machine, self.zone = machine, zone
        session = self.factory.session
        if machine is None or session is None or not session.can(INSPECT):
            self.items = []
            self.update("")
            self.remove_class("-due")
            return
        self.poll()

    @work(exclusive=True, group="due-inspections", exit_on_error=False)
    async def poll(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        machine, session = self.machine, self.factory.session
        if machine is None or session is None:
            return
        try:
            due = await session.api.due_inspections(machine.id)
        except ClientError as exc:
            if exc.status in (403, 404) and not exc.transient:  # not licensed, or not allowed: no line
                self.update("")
                return
            if not exc.transient:
                self.update(f"Inspections: {plain(describe(exc).message)}")
        else:
            if self.machine is machine:
                # Shown only while something is due: the screen keeps its rows for entries otherwise.
                self.items = due.items
                self.update(due_text(due.items, self.zone, self.content_size.width))
                self.set_class(bool(due.items), "-due")
                self.set_class(any(i.overdue for i in due.items), "-overdue")
        if self.is_attached and self.screen.is_current:
            self._timer = self.set_timer(POLL_SECONDS, self.poll)


class InspectionsScreen(AppScreen):
    """Due inspections and the other plans that apply on one machine; Enter records one."""

    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("ctrl+r", "reload", "Reload", tooltip="Read what is due again.", id="reload"),
    ]
    HELP = """\
**Inspections at the machine**

What is due comes first (red: overdue). Choose one with the arrows and press **Enter** to
record its values. **Ctrl+R** reads the list again, **Escape** goes back.
"""

    def __init__(self, machine: MachineOut, zone: tzinfo | None) -> None:
        super().__init__()
        self.machine, self.zone = machine, zone
        self.rows: dict[str, tuple[UUID, str]] = {}  # row key → (plan id, trigger)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Inspections on [b]{plain(self.machine.code)}[/b] {plain(self.machine.name)}",
                     id="insp-title")
        table: DataTable[str] = DataTable(id="insp-table", cursor_type="row", zebra_stripes=True)
        # Fixed widths within 80 columns: a long plan name or reason is cut, never the time scrolled away.
        for label, width in (("Plan", 28), ("Why", 37), ("Since", 5)):
            table.add_column(label, width=width)
        yield table
        yield Static("", id="insp-note")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"FactoryOS — inspections {self.machine.code}"
        self.load()

    def action_reload(self) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(exclusive=True, group="inspections-load", exit_on_error=False)
    async def load(self) -> None:
        due = await self.api.due_inspections(self.machine.id)
        run = await self.api.machine_run(self.machine.id) if self.session.can("orders.view") else None
        plans = (await self.api.inspection_plans(machine_id=self.machine.id)).items
        if run is not None and run.product_id is not None:
            plans += (await self.api.inspection_plans(product_id=run.product_id)).items
        table = self.query_one("#insp-table", DataTable)
        table.clear()
        self.rows.clear()
        for item in sorted(due.items, key=lambda i: not i.overdue):
            since = f"{item.due_since.astimezone(self.zone):%H:%M}" if item.due_since and self.zone else ""
            why = ("OVERDUE · " if item.overdue else "") + "; ".join(item.reasons)
            key = f"due-{item.plan_id}"
            table.add_row(item.plan_name, why, since, key=key)
            self.rows[key] = (item.plan_id, item.trigger)
        seen = {i.plan_id for i in due.items}
        for p in plans:
            if p.id in seen or p.released_version is None:
                continue
            seen.add(p.id)
            # A product's plan for another machine, or for the machine alone while a product runs, is left out.
            if p.machine_id not in (None, self.machine.id):
                continue
            key = f"plan-{p.id}"
            table.add_row(p.name, "not due: by hand", "", key=key)
            self.rows[key] = (p.id, "manual")
        note = self.query_one("#insp-note", Static)
        note.update("Enter: record the chosen inspection" if self.rows else
                    "No released inspection plan applies to this machine now.")
        if self.rows:
            table.focus()

    @on(DataTable.RowSelected, "#insp-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        chosen = self.rows.get(str(event.row_key.value))
        if chosen is None:
            return
        from tui.screens.inspection_form import InspectionForm

        plan_id, trigger = chosen
        self.app.push_screen(InspectionForm(self.machine, plan_id, trigger, self.zone))


class OverdueInspectionsLine(Static):
    """On the dashboard: overdue inspections across the company's machines (hidden when none)."""

    DEFAULT_CSS = """
    OverdueInspectionsLine { height: auto; max-height: 3; padding: 0 1; color: $text-error; display: none; }
    OverdueInspectionsLine.-due { display: block; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.items: list[DueInspection] = []
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        session = getattr(self.app, "session", None)
        if session is not None and session.can(INSPECT):
            self.poll()

    @work(exclusive=True, group="overdue-inspections", exit_on_error=False)
    async def poll(self) -> None:
        session = getattr(self.app, "session", None)
        if session is None:
            return
        try:
            overdue = await session.api.overdue_inspections()
        except ClientError as exc:
            if not exc.transient:  # not licensed or not allowed: the line stays hidden
                return
        else:
            self.items = overdue.items
            self.set_class(bool(overdue.items), "-due")
            self.update(overdue_text(overdue.items))
        if self.is_attached:
            self._timer = self.set_timer(POLL_SECONDS, self.poll)


def overdue_text(items: list[DueInspection]) -> str:
    if not items:
        return ""
    shown = ", ".join(f"{plain(i.machine_code)} {plain(i.plan_name)}" for i in items[:3])
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return f"[b reverse] {len(items)} OVERDUE INSPECTION{'S' if len(items) > 1 else ''} [/] {shown}{more}"
