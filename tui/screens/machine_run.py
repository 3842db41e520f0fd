"""One machine at the terminal: the operation running on it, its queue, and the keys to start
the next operation, mark the setup done, pause and complete it.

The order-number field takes what a barcode scanner sends (a fast burst of keys and Enter)
and starts that order's next operation here. Letters never act as commands on this screen,
so a scan that lands anywhere cannot pause or complete anything: the commands are F-keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Label, Static

from factoryos.client import ClientError, SessionEnded
from factoryos.client.models import MachineOut
from factoryos.orders.run_models import QueueItem, QueueOut, RunOut
from tui.errors import describe
from tui.markup import escape
from tui.markup import escape as plain
from tui.screens.base import AppScreen
from tui.screens.run_forms import CompleteForm, CurrentRunChoice
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header
from tui.widgets.scan_input import ScanInput
from tui.widgets.status_line import ConnectionStatus


def seconds_per_part(run: RunOut, machine: MachineOut) -> Decimal | None:
    """The standard the run is measured against: the routing's, else the machine's own."""
    if run.cycle_seconds is not None:
        return run.cycle_seconds / max(run.parts_per_cycle, 1)
    if machine.ideal_cycle_seconds is not None:
        return machine.ideal_cycle_seconds
    if machine.ideal_rate_per_hour:
        return Decimal(3600) / machine.ideal_rate_per_hour
    return None


def expected_finish(run: RunOut, machine: MachineOut, now: datetime) -> datetime | None:
    """When the ordered quantity is reached at the standard rate from now (None without a standard)."""
    per_part = seconds_per_part(run, machine)
    if per_part is None:
        return None
    remaining = max(run.quantity - run.good, 0)
    return now + timedelta(seconds=float(per_part * remaining))


def clock(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """Site time; the weekday too when it is not today there."""
    local = at.astimezone(zone)
    return f"{local:%H:%M}" if local.date() == now.astimezone(zone).date() else f"{local:%a %H:%M}"


class RunScreen(AppScreen):
    ACTION_PERMISSIONS = dict.fromkeys(("start", "setup_done", "pause", "complete"), ("production.entry",))
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "start", "Start", tooltip="Start the operation chosen in the queue (the next one at first).",
                id="run-start"),
        Binding("f3", "setup_done", "Setup done", tooltip="The changeover is over: parts count from now.",
                id="run-setup"),
        Binding("f4", "pause", "Pause", tooltip="Pause the running operation (it stays in the queue).", id="run-pause"),
        Binding("f5", "complete", "Complete", tooltip="Complete the running operation with its final quantity.",
                id="run-complete"),
        Binding("up", "queue(-1)", "Previous", show=False),
        Binding("down", "queue(1)", "Next", show=False),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load the run and the queue again.", show=False),
    ]
    HELP = """\
**Orders at the machine**

Scan or type an **order number** and press **Enter** to start its next operation here.
**↑/↓** choose in the queue, **F2** starts the chosen one. **F3** setup done, **F4** pause,
**F5** complete with the final quantity. Counts from the machine show as they arrive.
"""
    AUTO_FOCUS = "#order-number"
    DEFAULT_CSS = """
    RunScreen #run-panel { height: 3; padding: 0 1; border-left: thick $primary; margin: 0 0 0 0; }
    RunScreen #run-panel.-idle { border-left: thick $panel; color: $text-muted; }
    RunScreen #queue-title { height: 1; padding: 0 1; text-style: bold; }
    RunScreen #queue-table { height: 1fr; }
    RunScreen #run-result { height: 1; padding: 0 1; }
    """

    def __init__(self, machine: MachineOut, zone: ZoneInfo | None = None) -> None:
        super().__init__()
        self.machine = machine
        self.zone = zone or ZoneInfo("UTC")
        self.run: RunOut | None = None
        self.queue: list[QueueItem] = []
        self._poll: Timer | None = None
        self.panel_text = ""  # what the panel shows (markup)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="op-status"):
            yield ConnectionStatus(id="status")
            yield Static(f"{self.machine.code} · {self.machine.name}", id="op-who", markup=False)
        yield Static("loading…", id="run-panel")
        with Horizontal(classes="form-row"):
            yield Label("Order", classes="form-label")
            yield ScanInput(placeholder="scan or type the order number", max_length=60, id="order-number")
        yield FieldError(id="order-error")
        yield Static("Up next", id="queue-title", markup=False)
        yield FieldError(id="queue-error")
        table = DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        table.can_focus = False  # the order field keeps the keys; ↑/↓ move this cursor
        for label, width in (("#", 2), ("Order", 12), ("Product", 16), ("Operation", 14), ("Good/Qty", 11),
                             ("Ends", 9)):
            table.add_column(label, width=width)
        yield table
        yield Static("", id="run-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"FactoryOS — {self.machine.code}"
        self.load()

    def on_screen_suspend(self) -> None:
        if self._poll is not None:
            self._poll.stop()

    def on_screen_resume(self) -> None:
        self._arm()

    def _arm(self) -> None:
        if self._poll is not None:
            self._poll.stop()
        self._poll = self.set_timer(self.factory.poll_seconds, self.load)

    def action_reload(self) -> None:
        self.load()

    # -- loading ---------------------------------------------------------------------------------

    @work(exclusive=True, group="run-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            queue: QueueOut = await self.api.machine_queue(self.machine.id)
        except ClientError as exc:
            if not exc.transient:
                raise  # said once; Ctrl+R tries again
            self.factory.online = False
        else:
            self.factory.online = True
            self.show(queue.running, queue.items)
        if self.is_attached and self.app.screen is self:
            self._arm()  # re-armed after each poll: polls never overlap

    def show(self, run: RunOut | None, items: list[QueueItem]) -> None:
        self.run, now = run, datetime.now(UTC)
        panel = self.query_one("#run-panel", Static)
        panel.set_class(run is None, "-idle")
        if run is None:
            self.panel_text = (f"Nothing runs on {self.machine.code}.\n"
                               "Scan an order, or choose in the queue and press F2.")
        else:
            setup = ("in setup since " + clock(run.started_at, self.zone, now) if run.setup_ended_at is None
                     else "setup done " + clock(run.setup_ended_at, self.zone, now))
            finish = expected_finish(run, self.machine, now)
            if run.good >= run.quantity:
                when = "Ordered quantity reached: complete it with F5."
            elif finish is not None:
                when = f"Expected finish {clock(finish, self.zone, now)} at the standard rate."
            else:
                when = "No standard rate: no expected finish."
            self.panel_text = (f"[b]Running[/b] {plain(run.job_number)} · {plain(run.product_name)} · "
                               f"{run.operation_seq} {plain(run.operation_name)}\n[b]Good {run.good} / {run.quantity}[/b] · scrap {run.scrap} · "
                               f"{setup}\n{when}")
        panel.update(self.panel_text)
        self._fill_queue(items, now)
        self.refresh_bindings()

    def _fill_queue(self, items: list[QueueItem], now: datetime) -> None:
        table = self.query_one("#queue-table", DataTable)
        chosen = self.chosen
        rows = [(str(i.operation_id), (str(i.position), escape(i.job_number), escape(i.product_name),
                                       escape(f"{i.operation_seq} {i.operation_name}"),
                                       f"{i.good}/{i.quantity}",
                                       clock(i.planned_end, self.zone, now) if i.planned_end else "–"))
                for i in items]
        self.queue = items
        if rows == getattr(self, "_rows", None):
            return  # unchanged: keep the cursor where the operator put it
        self._rows = rows
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        title = self.query_one("#queue-title", Static)
        # "Up next", not "Queue": the status line's queue is the entries waiting on this terminal.
        title.update(f"Up next on {self.machine.code} · {len(items)} operation{'' if len(items) == 1 else 's'}"
                     if items else f"Up next on {self.machine.code}: nothing (the planner dispatches operations)")
        if chosen is not None and str(chosen.operation_id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(chosen.operation_id)))

    @property
    def chosen(self) -> QueueItem | None:
        table = self.query_one("#queue-table", DataTable)
        if not table.row_count or not self.queue:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((i for i in self.queue if str(i.operation_id) == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if not allowed:
            return allowed
        if action in ("setup_done", "pause", "complete") and self.run is None:
            return None  # shown, dimmed: nothing runs
        if action == "setup_done" and self.run is not None and self.run.setup_ended_at is not None:
            return None
        return True

    def action_queue(self, step: int) -> None:
        table = self.query_one("#queue-table", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    # -- commands ---------------------------------------------------------------------------------

    def action_start(self) -> None:
        item = self.chosen
        if item is None:
            self._refuse_at("queue-error", "The queue is empty: scan an order number instead.")
            return
        self.start({"operation_id": str(item.operation_id)}, f"{item.job_number} · {item.operation_seq} "
                   f"{item.operation_name}", "queue-error")

    @on(ScanInput.Submitted, "#order-number")
    def _scanned(self, event: ScanInput.Submitted) -> None:
        if isinstance(event.input, ScanInput):
            event.input.take_overflow()  # the field takes keys again (nothing follows an order number)
        number = event.value.strip()
        if not number:
            self._refuse_at("order-error", "Scan or type an order number.")
            return
        self.start({"order_number": number}, f"order {number}", "order-error")

    @work(group="run-send", exclusive=True, exit_on_error=False)
    async def start(self, body: dict[str, Any], label: str, where: str, current: str | None = None) -> None:
        self._clear()
        self._result(f"Starting {label}…", "info")
        self.factory.sending += 1
        try:
            started = await self.api.start_run(self.machine.id, **body, current=current)
        except SessionEnded:
            raise
        except ClientError as exc:
            if exc.code == "operation_running" and current is None:
                self._ask_current(body, label, where, exc)
                return
            self._refused(exc, where, self._runs_here(body.get("order_number")))
            return
        finally:
            self.factory.sending -= 1
        run = started.run
        ended = started.ended
        before = f"{ended.job_number} {'completed' if ended.end_kind == 'completed' else 'paused'}; " if ended else ""
        self._result(f"{before}started {run.job_number} · {run.operation_seq} {run.operation_name}.", "ok")
        self.query_one("#order-number", ScanInput).value = ""
        self.load()

    def _ask_current(self, body: dict[str, Any], label: str, where: str, exc: ClientError) -> None:
        extra = exc.extra or {}
        running = self.run
        number = extra.get("order_number") or (running.job_number if running else "the running order")
        what = f"{number} · {running.operation_seq} {running.operation_name}" if running and \
            running.job_number == number else str(number)
        self._result("", "info")

        def answered(choice: str | None) -> None:
            if choice is None:
                self._result(f"{what} keeps running; nothing started.", "info")
                self.query_one("#order-number", ScanInput).select_all()  # a next scan replaces it
                return
            self.start(body, label, where, current=choice)

        self.app.push_screen(CurrentRunChoice(f"{what} runs on {self.machine.code}. Pause or complete {number} "
                                              f"to start {label}?"), answered)

    def action_setup_done(self) -> None:
        self._command("setup_done", "Setup marked done: parts count from now.")

    def action_pause(self) -> None:
        from tui.screens.reason_form import ReasonForm

        run = self.run
        if run is None:
            return

        def answered(values: dict[str, str | None] | None) -> None:
            if values is not None:
                self._command("pause", "Paused {order}: it stays in the queue.", values)

        self.app.push_screen(ReasonForm(f"Pause {run.job_number} · {run.operation_seq} {run.operation_name}?",
                                        placeholder="Why (optional): material, tool change, end of shift…"),
                             answered)

    def action_complete(self) -> None:
        run = self.run
        if run is None:
            return
        title = f"Complete {run.job_number} · {run.operation_seq} {run.operation_name} ({run.quantity} ordered)"

        def answered(values: dict[str, int] | None) -> None:
            if values is not None:
                self._command("complete", "Completed {order}: {good} good, {scrap} scrap.", values)

        self.app.push_screen(CompleteForm(title, run.good, run.scrap), answered)

    @work(group="run-send", exclusive=True, exit_on_error=False)
    async def _command(self, kind: str, done: str, body: dict[str, Any] | None = None) -> None:
        self._clear()
        self.factory.sending += 1
        try:
            if kind == "setup_done":
                run = await self.api.setup_done(self.machine.id)
            elif kind == "pause":
                run = await self.api.pause_run(self.machine.id, (body or {}).get("reason"))
            else:
                run = await self.api.complete_run(self.machine.id, **(body or {}))
        except SessionEnded:
            raise
        except ClientError as exc:
            self._refused(exc, "queue-error")
            return
        finally:
            self.factory.sending -= 1
        self._result(done.format(order=run.job_number, good=run.good, scrap=run.scrap), "ok")
        self.load()

    # -- refusals ---------------------------------------------------------------------------------

    def _runs_here(self, number: str | None) -> RunOut | None:
        """The run of the order scanned, when that order is the one running here (scanned twice)."""
        run = self.run
        return run if run is not None and number and run.job_number.casefold() == number.casefold() else None

    def _refused(self, exc: ClientError, where: str, running: RunOut | None = None) -> None:
        if exc.transient:
            self.factory.online = False
        self._refuse_at(where, run_refusal(exc, self.machine.code, running))
        self._result("Not done: see the message above.", "error")

    def _refuse_at(self, where: str, text: str) -> None:
        self.query_one(f"#{where}", FieldError).show(text)
        if where == "order-error":
            field = self.query_one("#order-number", ScanInput)
            field.add_class("-invalid")
            field.select_all()  # the next scan replaces what was refused, not appends to it

    def _clear(self) -> None:
        for line in self.query(FieldError):
            line.clear()
        self.query_one("#order-number").remove_class("-invalid")

    def _result(self, text: str, kind: str) -> None:
        line = self.query_one("#run-result", Static)
        stamp = datetime.now(self.zone).strftime("%H:%M:%S")
        line.update(f"{stamp}  {text}" if text else "")
        line.set_classes(f"message-{kind}")


def run_refusal(exc: ClientError, machine_code: str, running: RunOut | None = None) -> str:
    """The server's refusal of a start, pause or complete, in an operator's words. `running`: the
    scanned order runs here already, so the refusal is about its next operation, not this one."""
    extra, code = exc.extra or {}, exc.code
    if code == "machine_not_allowed":
        allowed = ", ".join(extra.get("allowed") or []) or "no active machine"
        if running is not None:
            return (f"{running.job_number} already runs here ({running.operation_seq} {running.operation_name}); "
                    f"its next operation runs on {allowed}.")
        return f"{machine_code} cannot run this operation; it runs on {allowed}."
    if code == "order_not_found":
        return "No order has this number: check the label, or type the number."
    if code == "no_operation_to_start":
        return "This order has nothing left to start: every operation is done or not released."
    if code == "operation_not_released":
        return "This order is not released yet: ask the planner to release it."
    if code == "operation_closed":
        return "This operation is already completed or cancelled."
    if code == "operation_busy":
        return f"This operation already runs on {extra.get('machine') or 'another machine'}."
    if code in ("order_closed", "order_completed", "order_cancelled"):
        return "This order is completed or cancelled: it cannot start again."
    if code == "no_operation_running":
        return f"Nothing runs on {machine_code}."
    if code == "setup_already_done":
        return "Setup is already marked done."
    if exc.transient:
        return "The server cannot be reached: try again in a moment."
    return describe(exc).message
