"""Counter jumps of one machine: readings larger than it could make, held back from production
until a supervisor accepts (**a**: the parts are counted) or discards them (**d**, asks first)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError, ServerUnreachable, SessionEnded, UntrustedCertificate
from factoryos.client.models import AnomalyOut, MachineOut
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.screens.confirm import Confirm
from tui.widgets.header import Header

DECIDED = {"accept": "accepted", "discard": "discarded"}


def jump_words(a: AnomalyOut) -> str:
    parts = "reject parts" if a.signal == "reject" else "good parts"
    return f"+{a.delta:,} {parts}"


def decision_error(error: ClientError, decision: str) -> str:
    """The server's refusal in words for the person at the terminal."""
    if error.code == "anomaly_already_decided":
        return f"Not {DECIDED[decision]}: someone already {error.extra.get('decided', 'decided')} this jump."
    if error.code == "anomaly_not_found":
        return "Not saved: this jump is no longer there. The list was loaded again."
    if error.status == 403:
        return "Not allowed: your role cannot accept or discard counter jumps (production.plan)."
    if error.code == "anomaly_too_large":
        return "Too many parts to count for one minute: discard this jump and enter the real count by hand."
    return describe(error).message


class AnomaliesScreen(AppScreen):
    DEFAULT_CSS = """
    AnomaliesScreen #anomalies-title { padding: 0 1; text-style: bold; }
    AnomaliesScreen #anomalies-table { height: 1fr; }
    AnomaliesScreen #anomaly-message { height: auto; padding: 0 1; }
    """
    ACTION_PERMISSIONS = {"decide": ("production.plan",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("a", "decide('accept')", "Accept", tooltip="Count the selected jump's parts as production.",
                id="accept"),
        Binding("d", "decide('discard')", "Discard", tooltip="Discard the selected jump (asks first).", id="discard"),
        Binding("p", "toggle_pending", "Pending/all", tooltip="Show only jumps waiting for a decision, or all.",
                id="pending"),
        Binding("r", "reload", "Reload", tooltip="Load the list again.", id="reload"),
    ]
    HELP = """\
**Counter jumps**: the machine's counter went up by more than it could make in the time
(*Allowed* is the most it could). When both counters went back at once (a PLC restarted
with preset values) and one of them jumped, the other is held too, whatever its size.
They are not counted until you decide: **a** accepts the
selected jump (its parts are counted in the minute it was seen), **d** discards it (asks
first; nothing is counted). **p** shows all jumps or only those waiting. Times are site time.
"""

    def __init__(self, machine: MachineOut, zone: ZoneInfo) -> None:
        super().__init__()
        self.machine = machine
        self.zone = zone
        self.pending_only = True
        self.items: dict[str, AnomalyOut] = {}
        # One key per jump and decision: repeating a decision whose answer was lost replays it.
        self._keys: dict[tuple[UUID, str], str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="anomalies-title", classes="section-title")
        table = DataTable(id="anomalies-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Seen (site time)", "Jump", "Allowed", "Status", "Counter read")
        yield table
        yield Static("", id="anomaly-message", classes="message-info")
        yield Footer()

    def on_mount(self) -> None:
        self._title()
        self.load()

    def _title(self, count: int | None = None) -> None:
        which = "waiting for a decision" if self.pending_only else "in all, newest first"
        shown = "" if count is None else f": {count} {which}"
        self.query_one("#anomalies-title", Static).update(
            f"Counter jumps of {self.machine.code}{shown} · site time {self.zone.key}")

    def _say(self, text: str, kind: str = "info") -> None:
        line = self.query_one("#anomaly-message", Static)
        line.set_classes(f"message-{kind}")
        line.update(text)

    def _when(self, moment: datetime | None) -> str:
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M:%S}" if moment else ""

    def action_reload(self) -> None:
        self.load()

    def action_toggle_pending(self) -> None:
        self.pending_only = not self.pending_only
        self._title()
        self.load()

    @work(exclusive=True, group="anomalies", exit_on_error=False)
    async def load(self) -> None:
        items = await self.api.anomalies(self.machine.id, status="pending" if self.pending_only else None)
        table = self.query_one("#anomalies-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        self.items = {str(a.id): a for a in items}
        for a in items:
            read = f"{a.previous_raw:,} → {a.raw:,}" if a.previous_raw is not None else f"{a.raw:,}"
            table.add_row(self._when(a.detected_at), jump_words(a), "" if a.allowed is None else f"{a.allowed:,}",
                          a.status, read, key=str(a.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._title(len(items))

    def _selected(self) -> AnomalyOut | None:
        table = self.query_one("#anomalies-table", DataTable)
        if table.row_count == 0:
            return None
        return self.items.get(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def action_decide(self, decision: str) -> None:
        anomaly = self._selected()
        if anomaly is None:
            self._say("Select a counter jump first.", "error")
            return
        if anomaly.status != "pending":
            self._say(f"This jump was already {anomaly.status}.", "error")
            return
        if decision == "accept":
            self.decide(anomaly, decision)
            return
        question = (f"Discard the jump of {jump_words(anomaly)} on {self.machine.code} seen "
                    f"{self._when(anomaly.detected_at)}? Nothing will be counted.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.decide(anomaly, decision)

        self.app.push_screen(Confirm(question, yes="Discard"), answered)

    @work(group="anomaly-decide", exit_on_error=False)
    async def decide(self, anomaly: AnomalyOut, decision: str) -> None:
        key = self._keys.setdefault((anomaly.id, decision), f"anomaly-{decision}-{uuid4()}")
        try:
            done = await self.api.decide_anomaly(self.machine.id, anomaly.id, decision, idempotency_key=key)
        except (ServerUnreachable, SessionEnded, UntrustedCertificate):
            # The app shows these (offline, signed out); the same key is sent again next time.
            raise
        except ClientError as error:
            self._say(decision_error(error, decision), "error")
            if error.code in ("anomaly_already_decided", "anomaly_not_found"):
                self.load()
            return
        self._say(f"{DECIDED[decision].capitalize()}: {jump_words(done)} seen {self._when(done.detected_at)}.", "ok")
        self.load()
