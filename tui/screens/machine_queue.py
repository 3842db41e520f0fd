"""A machine's queue of operations with their planned start and end over the coming shifts.

Planners (`production.plan`) move the highlighted operation with Ctrl+↑/Ctrl+↓ (Shift+↑/↓
where the terminal does not send Ctrl with arrows) and save the new order with Ctrl+S;
everyone else sees the queue without those keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Label, Select, Static

from factoryos.client import ClientError, SessionEnded
from factoryos.client.models import MachineOut, SiteOut
from factoryos.orders.run_models import QueueItem, QueueOut
from tui.errors import describe
from tui.markup import escape
from tui.screens.base import AppScreen
from tui.screens.machine_run import clock
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header


class QueueScreen(AppScreen):
    ACTION_PERMISSIONS = dict.fromkeys(("move", "save"), ("production.plan",))
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f3", "focus_machine", "Machine", tooltip="Choose the machine.", id="queue-machine"),
        Binding("ctrl+up,shift+up", "move(-1)", "Move up", tooltip="Move the operation one place earlier.",
                id="queue-up"),
        Binding("ctrl+down,shift+down", "move(1)", "Move down", tooltip="Move the operation one place later.",
                id="queue-down"),
        Binding("ctrl+s", "save", "Save order", tooltip="Save the queue in the order shown.", id="queue-save"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load the queue again (unsaved moves are dropped).",
                show=False),
    ]
    HELP = """\
**Machine queue**

**F3** machine. The operations run top to bottom; planned times come from each operation's
quantity at the standard rate over the coming shifts. Planners move the highlighted one with
**Ctrl+↑/↓** (or **Shift+↑/↓**) and save with **Ctrl+S**.
"""
    AUTO_FOCUS = "#queue-table"
    DEFAULT_CSS = """
    QueueScreen #queue-filters { height: 3; }
    QueueScreen #queue-machine-select { width: 1fr; }
    QueueScreen #queue-table { height: 1fr; }
    QueueScreen #queue-summary { height: auto; padding: 0 1; }
    QueueScreen #queue-summary.-overloaded { color: $warning; text-style: bold; }
    QueueScreen #queue-result { height: 1; padding: 0 1; }
    """

    def __init__(self, machine_id: UUID | None = None) -> None:
        super().__init__()
        self.machine_id = machine_id
        self.machines: list[MachineOut] = []
        self.sites: dict[UUID, SiteOut] = {}
        self.items: list[QueueItem] = []
        self.saved: list[UUID] = []  # the order on the server; differs from `items` after moves

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="queue-filters"):
            yield Label("Machine", classes="form-label")
            yield Select[UUID]([], prompt="loading machines…", id="queue-machine-select")
        yield Static("", id="queue-summary", markup=False)
        table = DataTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        for label, width in (("#", 2), ("Order", 12), ("Product", 14), ("Operation", 12), ("Left", 7),
                             ("Start", 9), ("End", 9)):
            table.add_column(label, width=width)
        yield table
        yield FieldError(id="queue-error")
        yield Static("", id="queue-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load_machines()

    @property
    def zone(self) -> ZoneInfo:
        machine = next((m for m in self.machines if m.id == self.machine_id), None)
        site = self.sites.get(machine.site_id) if machine else None
        return ZoneInfo(site.timezone) if site else ZoneInfo("UTC")

    @property
    def dirty(self) -> bool:
        return [i.operation_id for i in self.items] != self.saved

    @work(exclusive=True, group="machines", exit_on_error=False)
    async def load_machines(self) -> None:
        ref = self.session.reference
        if ref is not None:
            self.machines, self.sites = list(ref.machines), {s.id: s for s in ref.sites}
        else:
            self.machines = sorted(await self.api.machines(), key=lambda m: m.code)
            self.sites = {s.id: s for s in await self.api.sites()}
        select = self.query_one("#queue-machine-select", Select)
        with self.prevent(Select.Changed):
            select.set_options((f"{m.code} · {m.name}", m.id) for m in self.machines)
            select.prompt = "choose a machine" if self.machines else "no machines"
            if self.machine_id is not None and any(m.id == self.machine_id for m in self.machines):
                select.value = self.machine_id
        if self.machine_id is None:
            self.query_one("#queue-summary", Static).update("Choose a machine (F3) to see its queue.")
            select.focus()
        else:
            self.load()

    @on(Select.Changed, "#queue-machine-select")
    def _machine_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        if self.dirty:
            self.notify("The moves not saved were dropped.", title="Queue not saved", severity="warning")
        self.machine_id = event.value  # type: ignore[assignment]
        self.load()
        self.query_one("#queue-table", DataTable).focus()

    def action_focus_machine(self) -> None:
        self.query_one("#queue-machine-select", Select).focus()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="queue", exit_on_error=False)
    async def load(self) -> None:
        if self.machine_id is None:
            return
        self.show(await self.api.machine_queue(self.machine_id))

    def show(self, queue: QueueOut) -> None:
        self.items = list(queue.items)
        self.saved = [i.operation_id for i in self.items]
        now, zone = datetime.now(UTC), self.zone
        running = queue.running
        lines = [f"Running {running.job_number} · {running.operation_seq} {running.operation_name} · "
                 f"{running.good}/{running.quantity} good" if running else "Nothing runs now."]
        if queue.overloaded:
            hours = float(queue.overload_seconds) / 3600
            lines.append(f"Overloaded: {hours:.1f} h of work past the coming shifts (operations with no end below).")
        summary = self.query_one("#queue-summary", Static)
        summary.update("\n".join(lines))
        summary.set_class(queue.overloaded, "-overloaded")
        self._fill(now, zone)

    def _fill(self, now: datetime, zone: ZoneInfo, cursor: int | None = None) -> None:
        table = self.query_one("#queue-table", DataTable)
        row = table.cursor_row if cursor is None else cursor
        table.clear()
        for n, i in enumerate(self.items, start=1):
            moved = "*" if self.dirty and i.operation_id != (self.saved[n - 1] if n <= len(self.saved) else None) else ""
            table.add_row(f"{n}{moved}", escape(i.job_number), escape(i.product_name),
                          escape(f"{i.operation_seq} {i.operation_name}"),
                          str(i.remaining), clock(i.planned_start, zone, now) if i.planned_start else "–",
                          clock(i.planned_end, zone, now) if i.planned_end else "–", key=str(i.operation_id))
        if self.items:
            table.move_cursor(row=max(0, min(row, len(self.items) - 1)))
        if not self.items:
            self.query_one("#queue-result", Static).update("The queue is empty.")

    # -- reordering -------------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        table = self.query_one("#queue-table", DataTable)
        row = table.cursor_row
        target = row + step
        if not self.items or not 0 <= target < len(self.items):
            return
        self.items[row], self.items[target] = self.items[target], self.items[row]
        self._fill(datetime.now(UTC), self.zone, cursor=target)
        self._result("Moved: Ctrl+S saves the new order (planned times update once saved).", "info")

    def action_save(self) -> None:
        if not self.dirty:
            self._result("Nothing to save: the queue is as it was.", "info")
            return
        self.save([i.operation_id for i in self.items])

    @work(exclusive=True, group="queue-save", exit_on_error=False)
    async def save(self, operation_ids: list[UUID]) -> None:
        assert self.machine_id is not None
        self.query_one("#queue-error", FieldError).clear()
        self.factory.sending += 1
        try:
            queue = await self.api.reorder_queue(self.machine_id, operation_ids)
        except SessionEnded:
            raise
        except ClientError as exc:
            if exc.transient:
                raise
            # Someone changed the queue meanwhile (or an operation started): show theirs, keep nothing stale.
            self.query_one("#queue-error", FieldError).show(queue_refusal(exc))
            self._result("Not saved.", "error")
            return
        finally:
            self.factory.sending -= 1
        cursor = self.query_one("#queue-table", DataTable).cursor_row
        self.show(queue)
        self._fill(datetime.now(UTC), self.zone, cursor=cursor)
        self._result("Queue saved.", "ok")

    def action_back(self) -> None:
        if self.dirty:
            self.notify("The moves not saved were dropped.", title="Queue not saved", severity="warning")
        super().action_back()

    def _result(self, text: str, kind: str) -> None:
        line = self.query_one("#queue-result", Static)
        line.update(text)
        line.set_classes(f"message-{kind}")


def queue_refusal(exc: ClientError) -> str:
    if exc.code in ("queue_mismatch", "queue_changed", "queue_stale"):
        return "The queue changed meanwhile (an operation started or was dispatched): Ctrl+R loads it again."
    return describe(exc).message
