"""Failed entries: queued operator entries the server refused, with its reason in plain words.

They stay here (files on this terminal) until the operator fixes one (the operator screen
opens its form prefilled; it leaves the list once the fix is saved or queued), resends it
as it is (after someone fixed the plant data) or discards it after confirming.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError, Pending
from factoryos.client.api_production import ENTRY_PATH, REJECTION_PATH
from factoryos.client.models import ShiftInstanceOut
from tui.errors import in_local_time
from tui.reference import PlantReference
from tui.screens.base import AppScreen
from tui.screens.confirm import Confirm
from tui.widgets.header import Header
from tui.widgets.status_line import ConnectionStatus

# The server's stable problem codes, said the way an operator would act on them.
REASONS: dict[str, str] = {
    "entry_outside_shift": "The entry does not fit in the chosen shift: pick the right shift.",
    "rejection_outside_shift": "The scrap does not fit in the chosen shift: pick the right shift.",
    "quantity_exceeds_ideal_rate": "More parts than the machine can make in that time{limit}: check the quantity.",
    "entry_overlap": "Another entry already covers this time on this machine.",
    "entry_overlaps_machine_counts": "The machine counted these parts itself: entering them would count them twice.",
    "invalid_period": "Entries already reach past this time in that shift: nothing is left to report.",
    "entry_in_future": "The entry ends in the future: check this terminal's clock.",
    "invalid_count": "Reworked parts cannot be more than the good parts.",
    "machine_not_found": "The machine no longer exists.",
    "machine_retired": "The machine was retired: nothing can be reported for it now.",
    "shift_not_found": "That shift no longer exists: pick another.",
    "shift_other_site": "That shift belongs to another site than the machine.",
    "no_running_shift": "No shift was running: pick the shift.",
    "not_a_site_operator": "You are not an operator at this machine's site: ask your supervisor.",
    "permission_denied": "You are not allowed to report this: ask your supervisor.",
    "reason_not_found": "That reason no longer exists: pick another.",
    "reason_inactive": "That reason is no longer in use: pick another.",
    "reason_wrong_bucket": "That reason does not fit here: pick another.",
    "not_found": "The stop no longer exists (it may have been removed).",
    "downtime_not_found": "The stop no longer exists (it may have been removed).",
}


def operator_reason(error: dict[str, Any] | None) -> str:
    """The server's reason in operator words; its own detail when the code has no wording."""
    if not error:
        return "Refused by the server."
    text = REASONS.get(str(error.get("code")))
    if text is None:
        detail = str(error.get("detail") or "refused by the server").strip()
        return detail[:1].upper() + detail[1:] + ("" if detail.endswith(".") else ".")
    limit = (error.get("extra") or {}).get("max_quantity")
    return text.format(limit=f" (at most {limit})" if limit is not None else "")


def entry_kind(item: Pending) -> str:
    meta = item.meta or {}
    if meta.get("kind"):
        return str(meta["kind"])
    if item.path == ENTRY_PATH:
        return "good"
    return "scrap" if item.path == REJECTION_PATH else "reason"


def entry_shift(item: Pending, ref: PlantReference | None) -> ShiftInstanceOut | None:
    """The shift instance the operator chose (older files only name pattern and date)."""
    meta = item.meta or {}
    if meta.get("shift"):
        try:
            return ShiftInstanceOut.model_validate(meta["shift"])
        except ValidationError:  # written by another version: look it up like an older file
            pass
    body = item.body or {}
    if ref is None:
        return None
    return next((s for s in ref.shifts
                 if (body.get("shift_instance_id") and str(s.id) == body["shift_instance_id"])
                 or (str(s.pattern_id) == body.get("shift_id") and s.local_date.isoformat() == body.get("shift_date"))),
                None)


def entry_zone(item: Pending, ref: PlantReference | None) -> ZoneInfo:
    """The clock of the machine's site (kept with the entry; else looked up; UTC without either)."""
    meta, body = item.meta or {}, item.body or {}
    if meta.get("timezone"):
        return ZoneInfo(meta["timezone"])
    machine_id = meta.get("machine_id") or body.get("machine_id")
    machine = ref.machine(UUID(machine_id)) if ref and machine_id else None
    site = ref.site(machine.site_id) if ref and machine else None
    return ZoneInfo(site.timezone if site else "UTC")


def describe_entry(item: Pending, ref: PlantReference | None) -> tuple[str, str, str]:
    """Machine code, shift in site time, and what was entered."""
    meta, body = item.meta or {}, item.body or {}
    machine_id = meta.get("machine_id") or body.get("machine_id")
    machine = ref.machine(UUID(machine_id)) if ref and machine_id else None
    code = meta.get("machine_code") or (machine.code if machine else "?")
    shift = entry_shift(item, ref)
    if shift is not None:
        site = ref.site(shift.site_id) if ref else None
        zone = ZoneInfo(meta.get("timezone") or (site.timezone if site else "UTC"))
        start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        when = f"{shift.name} {shift.local_date:%a %d %b} {start:%H:%M}–{end:%H:%M}"
    elif body.get("shift_date"):
        when = f"shift of {body['shift_date']}"
    else:
        when = "running shift"
    kind = entry_kind(item)
    if kind == "good":
        what = f"{body.get('good_quantity', '?')} good" + (f" · job {body['job_ref']}" if body.get("job_ref") else "")
    elif kind == "scrap":
        reason = next((r for r in ref.reasons if str(r.id) == body.get("reason_id")), None) if ref else None
        what = f"{body.get('quantity', '?')} scrap" + (f" · {reason.name}" if reason else "")
    else:
        what = "downtime reason"
        when = str(meta.get("event") or "")
    return code, when, what


class FailedEntriesScreen(AppScreen):
    """Dismisses with the entry to fix (the operator screen opens its form), or None."""

    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f", "fix", "Fix", tooltip="Open the entry in its form to correct and send it.", id="fix"),
        Binding("r", "resend", "Resend", tooltip="Send it again as it is.", id="resend"),
        Binding("d,delete", "discard", "Discard", tooltip="Drop it (asks first).", id="discard"),
    ]
    HELP = """\
**Failed entries** were queued on this terminal and refused by the server.
**Enter** or **f** fixes the selected one in its form (it leaves this list once saved),
**r** resends it unchanged (after the plant data was corrected), **d** discards it.
"""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Pending] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionStatus(id="status")
        table = DataTable(id="failed-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Machine", "Shift", "Entry")
        yield table
        yield Static("", id="failed-reason")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def reload(self) -> None:
        self.items = self.session.outbox.failed()
        self.factory.failed_count = len(self.items)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        ref = self.session.reference
        for item in self.items:
            table.add_row(*describe_entry(item, ref), key=item.filename)
        if self.items:
            table.move_cursor(row=min(row, len(self.items) - 1))
        self._show_reason()

    @property
    def selected(self) -> Pending | None:
        table = self.query_one(DataTable)
        if not self.items or not 0 <= table.cursor_row < len(self.items):
            return None
        return self.items[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_reason(self) -> None:
        item = self.selected
        box = self.query_one("#failed-reason", Static)
        if item is None:
            box.update("No failed entries: everything queued on this terminal was saved.")
            return
        error = item.error or {}
        at, zone = error.get("at"), entry_zone(item, self.session.reference)
        when = f"Refused {datetime.fromisoformat(at).astimezone(zone):%d %b %H:%M}. " if at else ""
        box.update(Text.assemble(in_local_time(f"{when}{operator_reason(error)}\n", zone),
                                 (in_local_time(f"Server: {error.get('detail') or '—'}", zone), "dim")))

    @on(DataTable.RowSelected)
    def action_fix(self) -> None:
        if self.selected is not None:
            self.dismiss(self.selected)

    def action_resend(self) -> None:
        if self.selected is not None:
            self.resend(self.selected)

    @work(exclusive=True, group="failed", exit_on_error=False)
    async def resend(self, item: Pending) -> None:
        code, _, what = describe_entry(item, self.session.reference)
        label = f"{what} · {code}"
        try:
            outcome = await self.session.outbox.resend(item)
        except ClientError as exc:
            if exc.status is None:
                raise
            self.notify(operator_reason({"code": exc.code, "detail": exc.detail, "extra": exc.extra}),
                        title="Refused again", severity="error")
            self.reload()
            return
        if outcome.queued:
            self.factory.online = False
            self.notify(f"The server did not answer: {label} is queued again.", title="Offline", severity="warning")
            self.factory.kick_drain()
        else:
            self.factory.online = True
            self.notify(f"Saved: {label}.", title="Sent")
        self.factory.queue_length = len(self.session.outbox)
        self.reload()

    def action_discard(self) -> None:
        item = self.selected
        if item is None:
            return
        code, when, what = describe_entry(item, self.session.reference)

        def done(yes: bool | None) -> None:
            if yes:
                self.session.outbox.discard(item)
                self.notify(f"Discarded: {what} · {code}.", title="Failed entries")
                self.reload()

        self.app.push_screen(Confirm(f"Discard {what} for {code} ({when})? It will never be sent.", yes="Discard"),
                             done)
