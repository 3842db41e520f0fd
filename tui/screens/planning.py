"""Planning: shift patterns of a site, and per machine the target and the operators for a
chosen shift (one plan per machine and shift holds both). Below them, the preventive maintenance
that will stop a machine in that shift (approved or scheduled, not started; with its window in
site time), so the plan can leave room for it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Label, Select, Static

from factoryos.client import ClientError
from factoryos.client.models import MachineOut, PlanOut, ShiftInstanceOut, SiteOut
from factoryos.maintenance.models import PlannedStop
from tui.markup import escape
from tui.screens.base import AppScreen
from tui.screens.plan_forms import WEEKDAYS, OperatorsForm, ShiftForm, TargetForm
from tui.widgets.fit_text import apart, clip
from tui.widgets.header import Header

# The targets table's columns and widths; the name takes what the terminal leaves (0 here).
PLAN_COLUMNS = (("Machine", 12), ("Name", 0), ("Target", 7), ("Job", 10), ("Operators", 14))
MIN_NAME = 16
STOP_COLUMNS = (("Machine", 12), ("Order", 8), ("Stopped", 21), ("Work", 24))
PlanRow = tuple[str, tuple[str, str, str, str, str]]  # the machine's key, its cells in full


class PlanningScreen(AppScreen):
    ACTION_PERMISSIONS = {"new_shift": ("production.plan",), "operators": ("production.plan",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("n", "new_shift", "New shift", tooltip="Add a shift pattern to this site.", id="new-shift"),
        Binding("o", "operators", "Operators", tooltip="Assign operators to the chosen machine for this shift.",
                id="operators"),
        Binding("r", "reload", "Reload", id="reload"),
    ]
    HELP = ("**Planning**: choose site and shift; **Enter** on a machine sets its target, **o** assigns its "
            "operators; **n** adds a shift pattern. Maintenance stops: preventive work that needs a machine "
            "stopped during the shift (or, without shifts, the next 7 days), from its scheduled start for its "
            "estimated time; *not scheduled yet* is approved work a planner still has to place.")
    DEFAULT_CSS = """
    PlanningScreen #plan-stops { height: auto; max-height: 6; }
    """
    STOPS_AHEAD = timedelta(days=7)

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[SiteOut] = []
        self.instances: list[ShiftInstanceOut] = []
        self.machines: dict[str, MachineOut] = {}
        self.plans: dict[UUID, PlanOut] = {}
        self.operators: dict[UUID, str] = {}  # the site's operators: user id → name
        self._plan_rows: list[PlanRow] | None = None
        self._plans_shown: tuple[list[int], list[PlanRow]] | None = None
        self._site_shown: UUID | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="plan-filters"):
            yield Label("Site", classes="form-label short")
            yield Select[UUID]([], prompt="loading…", id="plan-site")
            yield Label("Shift", classes="form-label short")
            yield Select[int]([], prompt="no shifts", id="plan-shift")
        yield Static("Shift patterns", classes="section-title")
        patterns: DataTable[str] = DataTable(id="patterns-table", cursor_type="row")
        patterns.add_columns("Name", "Start", "End", "Days", "Active")
        yield patterns
        yield Static("Targets for the chosen shift", classes="section-title")
        plans: DataTable[str] = DataTable(id="plans-table", cursor_type="row", zebra_stripes=True)
        # Fixed widths: a table refilled while it is drawn would otherwise flash label-wide columns.
        for (label, _), width in zip(PLAN_COLUMNS, self._plan_widths()):
            plans.add_column(label, width=width)
        yield plans
        yield Static("Maintenance stops", classes="section-title", id="plan-stops-title")
        stops: DataTable[str] = DataTable(id="plan-stops", cursor_type="row")
        for label, width in STOP_COLUMNS:
            stops.add_column(label, width=width)
        yield stops
        yield Footer()

    def on_mount(self) -> None:
        self.load_sites()

    @work(exclusive=True, group="sites", exit_on_error=False)
    async def load_sites(self) -> None:
        self.sites = await self.api.sites()
        select = self.query_one("#plan-site", Select)
        select.set_options((f"{s.code} · {s.name}", s.id) for s in self.sites)
        if self.sites:
            select.value = self.sites[0].id

    @property
    def site(self) -> SiteOut | None:
        value = self.query_one("#plan-site", Select).value
        return next((s for s in self.sites if s.id == value), None)

    @property
    def instance(self) -> ShiftInstanceOut | None:
        value = self.query_one("#plan-shift", Select).value
        return self.instances[value] if isinstance(value, int) and value < len(self.instances) else None

    @on(Select.Changed, "#plan-site")
    def _site_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, UUID):
            # The blank entry would leave a site's plans under "loading…": keep the site shown.
            if self._site_shown is not None:
                with self.prevent(Select.Changed):
                    event.select.value = self._site_shown
            return
        self._site_shown = event.value
        self.load_site()

    def action_reload(self) -> None:
        self.load_site()

    @work(exclusive=True, group="site", exit_on_error=False)
    async def load_site(self) -> None:
        site = self.site
        if site is None:
            return
        today = datetime.now(UTC).date()
        patterns, self.instances, machines, operators = await asyncio.gather(
            self.api.shift_patterns(site_id=site.id),
            self.api.shift_instances(site.id, today - timedelta(days=1), today + timedelta(days=6)),
            self.api.machines(site_id=site.id), self._site_operators(site))
        self.operators = operators
        table = self.query_one("#patterns-table", DataTable)
        table.clear()
        for p in patterns:
            days = " ".join(WEEKDAYS[d] for d in p.weekdays)
            table.add_row(p.name, f"{p.start:%H:%M}", f"{p.end:%H:%M}", days, "yes" if p.active else "no")
        self.machines = {str(m.id): m for m in sorted(machines, key=lambda m: m.code)}
        zone, now = ZoneInfo(site.timezone), datetime.now(UTC)
        self.instances = [i for i in self.instances if i.ends_at > now]
        shift = self.query_one("#plan-shift", Select)
        previous = shift.value
        # Quietly: the plans are loaded once below, not again (racing) for each change of the list.
        with self.prevent(Select.Changed):
            shift.set_options(
                (f"{i.name} {i.starts_at.astimezone(zone):%a %d %H:%M}{' (now)' if i.starts_at <= now else ''}", n)
                for n, i in enumerate(self.instances))
            if self.instances:
                shift.value = previous if isinstance(previous, int) and previous < len(self.instances) else 0
        self.load_plans()

    @on(Select.Changed, "#plan-shift")
    def _shift_changed(self) -> None:
        self.load_plans()

    @work(exclusive=True, group="plans", exit_on_error=False)
    async def load_plans(self) -> None:
        instance, site = self.instance, self.site
        self.load_stops()
        self.plans = {}
        if instance is not None and instance.id is not None and site is not None:
            self.plans = {p.machine_id: p for p in await self.api.plans(shift_instance_id=instance.id)}
        self._plan_rows = [(key, (m.code, m.name, str(self.plans[m.id].target_quantity) if m.id in self.plans else "–",
                                  (self.plans[m.id].job_ref or "") if m.id in self.plans else "",
                                  self._names(self.plans[m.id].operator_ids) if m.id in self.plans else ""))
                           for key, m in self.machines.items()]
        self._show_plans()

    def _plan_widths(self, rows: list[PlanRow] | None = None) -> list[int]:
        """The targets table's column widths at this terminal's width (room kept for cell padding and a
        scrollbar): no column runs past the edge at 80 columns; names get what is left, up to the longest."""
        fixed = sum(w for _, w in PLAN_COLUMNS) + 2 * len(PLAN_COLUMNS) + 2
        longest = max((len(cells[1]) for _, cells in rows or ()), default=MIN_NAME)
        name = max(MIN_NAME, min(self.app.size.width - fixed, longest))
        return [w or name for _, w in PLAN_COLUMNS]

    def _show_plans(self) -> None:
        """The plans' rows cut to the columns: codes and names keep what tells them apart."""
        if self._plan_rows is None:
            return
        shown = (self._plan_widths(self._plan_rows), self._plan_rows)
        if shown == self._plans_shown:
            return  # the same rows again (a second trigger): leave the table, its widths and cursor alone
        widths, rows = shown
        table = self.query_one("#plans-table", DataTable)
        cursor = table.cursor_row
        if self._plans_shown is None or self._plans_shown[0] != widths:
            table.clear(columns=True)
            for (label, _), width in zip(PLAN_COLUMNS, widths):
                table.add_column(label, width=width)
        else:
            table.clear()
        self._plans_shown = shown
        codes = apart([cells[0] for _, cells in rows], widths[0])
        names = apart([cells[1] for _, cells in rows], widths[1])
        for (key, cells), code, name in zip(rows, codes, names):
            table.add_row(escape(code), escape(name), *(escape(clip(c, w)) for c, w in zip(cells[2:], widths[2:])),
                          key=key)
        if rows and cursor:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def on_resize(self) -> None:
        self._show_plans()

    @work(exclusive=True, group="stops", exit_on_error=False)
    async def load_stops(self) -> None:
        instance, site = self.instance, self.site
        if site is None:
            return
        now = datetime.now(UTC)
        start, end = (instance.starts_at, instance.ends_at) if instance is not None else (now, now + self.STOPS_AHEAD)
        stops: list[PlannedStop] = []
        if self.session.can("maintenance.view"):
            try:
                stops = await self.api.maintenance_planned_stops(max(start, now), max(end, now + timedelta(minutes=1)),
                                                                 site_id=site.id)
            except ClientError as exc:
                if exc.status != 403:  # the licence has no maintenance module: nothing to show
                    raise
        zone = ZoneInfo(site.timezone)
        table = self.query_one("#plan-stops", DataTable)
        table.clear()
        for p in stops:
            table.add_row(escape(clip(p.machine_code, STOP_COLUMNS[0][1])), p.number, self._window(p, zone),
                          escape(clip(p.title, STOP_COLUMNS[3][1])), key=str(p.work_order_id))
        table.display = bool(stops)
        where = "in this shift" if instance is not None else "in the next 7 days"
        self.query_one("#plan-stops-title", Static).update(
            f"Maintenance stops {where} ({len(stops)})" if stops else f"Maintenance stops {where}: none")

    @staticmethod
    def _window(stop: PlannedStop, zone: ZoneInfo) -> str:
        if stop.starts_at is None or stop.ends_at is None:
            return "not scheduled yet"
        a, b = stop.starts_at.astimezone(zone), stop.ends_at.astimezone(zone)
        return f"{a:%a %d %H:%M}–{b:%H:%M}" if a.date() == b.date() else f"{a:%d %H:%M}–{b:%a %d %H:%M}"

    async def _site_operators(self, site: SiteOut) -> dict[UUID, str]:
        try:
            found = await self.api.site_operators(site.id)
        except ClientError as exc:
            if exc.status != 403:
                raise
            return {}  # a role that cannot see the site's people sees no names
        return {o.user_id: o.display_name or o.email for o in sorted(found, key=lambda o: o.display_name or o.email)}

    def _names(self, user_ids: list[UUID]) -> str:
        """The first operator's name and how many more, cut to the column keeping the count."""
        names = [self.operators.get(u, "?") for u in user_ids]
        width = PLAN_COLUMNS[4][1]
        if len(names) <= 1:
            return clip("".join(names), width)
        more = f" +{len(names) - 1}"
        return clip(names[0], width - len(more)) + more

    @on(DataTable.RowSelected, "#plans-table")
    def _edit_target(self, event: DataTable.RowSelected) -> None:
        machine = self.machines.get(str(event.row_key.value))
        instance = self.instance
        if machine is None or instance is None:
            self.notify("Choose a shift first.", severity="warning")
            return
        if not self.session.can("production.plan"):
            self.notify("Your role does not include planning.", title="Not allowed", severity="warning")
            return
        plan = self.plans.get(machine.id)
        title = f"{machine.code} · {instance.name} {instance.local_date:%d %b}"
        self.app.push_screen(TargetForm(title, plan.target_quantity if plan else None, plan.job_ref if plan else None,
                                        save=lambda body: self.save_plan(machine, instance, plan, body)),
                             lambda body: self._plan_saved(machine, body))

    async def save_plan(self, machine: MachineOut, instance: ShiftInstanceOut, plan: PlanOut | None,
                        body: dict[str, Any]) -> None:
        """Run by the form, which stays open with the reason when the server refuses."""
        if plan is not None:
            await self.api.update_plan(plan.id, body)
        else:
            await self.api.create_plan({**body, "machine_id": str(machine.id), "shift_id": str(instance.pattern_id),
                                        "shift_date": instance.local_date.isoformat()})

    def _plan_saved(self, machine: MachineOut, body: dict[str, Any] | None) -> None:
        if body is not None:
            self.notify(f"Target for {machine.code} saved.", title="Saved")
            self.load_site()  # the instance now has an id

    def action_new_shift(self) -> None:
        site = self.site
        if site is None:
            return
        self.app.push_screen(ShiftForm(save=lambda body: self.save_shift(site, body)), self._shift_saved)

    async def save_shift(self, site: SiteOut, body: dict[str, Any]) -> None:
        """Run by the form, which stays open with the reason when the server refuses."""
        await self.api.create_shift_pattern({**body, "site_id": str(site.id)})

    def _shift_saved(self, body: dict[str, Any] | None) -> None:
        if body is not None:
            self.notify(f"Shift {body['name']} added.", title="Saved")
            self.load_site()

    def action_operators(self) -> None:
        table = self.query_one("#plans-table", DataTable)
        instance = self.instance
        if instance is None or not table.row_count:
            self.notify("Choose a shift first.", severity="warning")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        machine = self.machines.get(str(key))
        if machine is None:
            return
        plan = self.plans.get(machine.id)
        chosen = {str(u) for u in plan.operator_ids} if plan else set()
        title = f"Operators · {machine.code} · {instance.name} {instance.local_date:%d %b}"
        people = [(name, str(uid)) for uid, name in self.operators.items()]
        self.app.push_screen(OperatorsForm(title, people, chosen,
                                           save=lambda body: self.save_operators(machine, instance, plan, body)),
                             lambda body: self._operators_saved(machine, body))

    async def save_operators(self, machine: MachineOut, instance: ShiftInstanceOut, plan: PlanOut | None,
                             body: dict[str, Any]) -> None:
        """A machine without a plan for the shift gets one with target 0 to hold its operators."""
        if plan is not None:
            await self.api.update_plan(plan.id, body)
        else:
            await self.save_plan(machine, instance, None, {**body, "target_quantity": 0})

    def _operators_saved(self, machine: MachineOut, body: dict[str, Any] | None) -> None:
        if body is not None:
            count = len(body["operator_ids"])
            self.notify(f"{count} operator{'' if count == 1 else 's'} assigned to {machine.code}.", title="Saved")
            self.load_site()
