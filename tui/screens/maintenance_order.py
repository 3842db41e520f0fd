"""One work order: what and where, its checklist (Space ticks a task), labour and notes;
**F6** starts the work, **F7** finishes it (a confirmation, or the electronic signature the
plan asks for). Refusals show at the field they name, in site time."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Static

from factoryos.client import ClientError
from factoryos.maintenance.models import WorkOrderOut
from tui.errors import describe
from tui.reference import load_reference
from tui.screens.base import AppScreen
from tui.screens.confirm import Confirm
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header

TICK, OPEN = "✓", "·"
KINDS = {"preventive": "Preventive", "corrective": "Corrective", "request": "Request"}
# Where a refusal naming a field is shown.
FIELDS = {"labour_minutes": "wo-labour", "notes": "wo-notes"}


class WorkOrderScreen(AppScreen):
    ACTION_PERMISSIONS = {"start": ("maintenance.workorder.trigger",), "finish": ("maintenance.workorder.trigger",),
                          "toggle": ("maintenance.workorder.trigger",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("space", "toggle", "Tick", tooltip="Tick or untick the highlighted task.", id="tick"),
        Binding("f6", "start", "Start", tooltip="Start the work (on a stopped machine: maintenance downtime).",
                id="start"),
        Binding("f7", "finish", "Finish", tooltip="Finish the work: labour, notes and the checklist are saved.",
                id="finish"),
    ]
    HELP = """\
**Work order**

**↑/↓** moves through the checklist, **Space** ticks a task. Type the labour minutes and
notes. **F6** starts the work, **F7** finishes it (asks to confirm, or for your electronic
signature when the plan requires one).
"""
    AUTO_FOCUS = "#wo-checklist"
    DEFAULT_CSS = """
    WorkOrderScreen #wo-title { height: 1; padding: 0 1; text-style: bold; }
    WorkOrderScreen #wo-facts { height: auto; padding: 0 1; color: $text-muted; }
    WorkOrderScreen #wo-checklist { height: 1fr; min-height: 4; }
    WorkOrderScreen #wo-result { height: 1; padding: 0 1; }
    """

    def __init__(self, wo_id: UUID) -> None:
        super().__init__()
        self.wo_id = wo_id
        self.wo: WorkOrderOut | None = None
        self.ticks: list[bool] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading…", id="wo-title", markup=False)
        yield Static("", id="wo-facts", markup=False)
        table = DataTable(id="wo-checklist", cursor_type="row")
        table.add_column("Done", width=5)
        table.add_column("Task", width=66)
        yield table
        with Horizontal(classes="form-row"):
            yield Label("Labour min", classes="form-label")
            yield Input(placeholder="0", type="integer", max_length=6, id="wo-labour", classes="cf-small")
            yield Label("Notes", classes="form-label short")
            yield Input(placeholder="what was done", max_length=400, id="wo-notes")
        yield FieldError(id="wo-labour-error")
        yield FieldError(id="wo-notes-error")
        yield Static("", id="wo-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="wo", exit_on_error=False)
    async def load(self) -> None:
        if self.session.reference is None:  # for the site's clock
            self.session.reference = await load_reference(self.api)
        self._show(await self.api.work_order(self.wo_id))

    def _show(self, wo: WorkOrderOut) -> None:
        self.wo = wo
        self.query_one("#wo-title", Static).update(f"{wo.number} · {KINDS[wo.kind]} · {wo.title}")
        zone = self._zone(wo)
        when = ""
        if wo.started_at is not None:
            when = f" · started {wo.started_at.astimezone(zone):%d.%m. %H:%M}"
        if wo.finished_at is not None:
            when += f" · finished {wo.finished_at.astimezone(zone):%d.%m. %H:%M}"
        stop = " · needs the machine stopped" if wo.needs_stop else ""
        self.query_one("#wo-facts", Static).update(
            f"{wo.asset_name} · {wo.status.replace('_', ' ')}{when}{stop}")
        self.ticks = [c.done for c in wo.checklist]
        table = self.query_one("#wo-checklist", DataTable)
        keep = table.cursor_row
        table.clear()
        for c, done in zip(wo.checklist, self.ticks, strict=True):
            table.add_row(TICK if done else OPEN, c.task)
        if wo.checklist:
            table.move_cursor(row=min(keep, len(wo.checklist) - 1))
        if wo.labour_minutes is not None:
            self.query_one("#wo-labour", Input).value = str(wo.labour_minutes)
        if wo.notes:
            self.query_one("#wo-notes", Input).value = wo.notes

    def _zone(self, wo: WorkOrderOut) -> ZoneInfo:
        """The clock of the machine's site (the terminal's own zone may differ)."""
        ref = self.session.reference
        machine = next((m for m in ref.machines if m.id == wo.machine_id), None) if ref else None
        site = ref.site(machine.site_id) if ref and machine else None
        return ZoneInfo(site.timezone) if site else ZoneInfo("UTC")

    def _result(self, text: str, kind: str = "ok") -> None:
        line = self.query_one("#wo-result", Static)
        line.update(text)
        line.set_classes(f"message-{kind}")

    def _refused(self, exc: ClientError) -> None:
        target = FIELDS.get(exc.field or "")
        text = describe(exc).message
        if target is not None:
            self.query_one(f"#{target}-error", FieldError).show(text)
            self.query_one(f"#{target}").focus()
        else:
            self._result(text, "error")

    def _checklist(self) -> list[dict]:
        assert self.wo is not None
        return [{"task": c.task, "done": done, "note": c.note} for c, done in zip(self.wo.checklist, self.ticks,
                                                                                  strict=True)]

    def action_toggle(self) -> None:
        table = self.query_one("#wo-checklist", DataTable)
        if self.wo is None or not self.ticks or self.wo.status in ("done", "cancelled"):
            return
        row = table.cursor_row
        self.ticks[row] = not self.ticks[row]
        table.update_cell_at((row, 0), TICK if self.ticks[row] else OPEN)
        self.save_checklist()

    @work(exclusive=True, group="wo", exit_on_error=False)
    async def save_checklist(self) -> None:
        try:
            self._show(await self.api.update_work_order(self.wo_id, checklist=self._checklist()))
        except ClientError as exc:
            self._refused(exc)

    @work(exclusive=True, group="wo", exit_on_error=False)
    async def action_start(self) -> None:
        try:
            wo = await self.api.start_work_order(self.wo_id)
        except ClientError as exc:
            self._refused(exc)
            return
        self._show(wo)
        booked = ": the machine's stop is maintenance downtime now" if wo.booked_downtime_id else ""
        self._result(f"{wo.number} started{booked}.")

    def action_finish(self) -> None:
        if self.wo is None:
            return
        for error in self.query(FieldError).results(FieldError):
            error.clear()
        labour = self.query_one("#wo-labour", Input).value.strip()
        if labour and not labour.isdigit():
            self.query_one("#wo-labour-error", FieldError).show("Labour is whole minutes, e.g. 25.")
            return
        if self.wo.requires_signature:
            from tui.screens.signature_dialog import SignatureDialog

            fields, wo_id = self._fields(), self.wo_id
            self.app.push_screen(SignatureDialog(
                f"close {self.wo.number} — {self.wo.title}", totp=self.session.me.account.mfa_enabled,
                meaning="verified", submit=lambda sig: self.api.finish_work_order(wo_id, signature=sig, **fields)),
                callback=self._signed)
            return
        open_tasks = self.ticks.count(False)
        question = f"Finish {self.wo.number}?" + (f" {open_tasks} task(s) are not ticked." if open_tasks else "")
        self.app.push_screen(Confirm(question, yes="Finish"), self._finish_confirmed)

    def _finish_confirmed(self, yes: bool | None) -> None:
        if yes:
            self.finish()

    def _fields(self) -> dict:
        labour = self.query_one("#wo-labour", Input).value.strip()
        notes = self.query_one("#wo-notes", Input).value.strip()
        fields: dict = {"checklist": self._checklist()}
        if labour:
            fields["labour_minutes"] = int(labour)
        if notes:
            fields["notes"] = notes
        return fields

    def _signed(self, wo: WorkOrderOut | None) -> None:
        if wo is not None:
            self._show(wo)
            self._result(f"{wo.number} done, signed.")

    @work(exclusive=True, group="wo", exit_on_error=False)
    async def finish(self) -> None:
        fields = self._fields()
        try:
            wo = await self.api.finish_work_order(self.wo_id, confirm=True, **fields)
        except ClientError as exc:
            self._refused(exc)
            return
        self._show(wo)
        self._result(f"{wo.number} done.")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id:
            for error in self.query(f"#{event.input.id}-error").results(FieldError):
                error.clear()
