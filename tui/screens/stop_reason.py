"""Give one machine's stops their reason from its detail screen: the operator screen's
downtime form and the same outbox call (queued through an outage, listed under Failed
entries if the server later refuses it). Dismisses with True once saved or queued."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static

from factoryos.client import ClientError, SessionEnded
from factoryos.client.api_production import reason_path
from factoryos.client.models import DowntimeOut, ReasonOut
from tui.reference import PlantReference
from tui.screens.failed_entries import operator_reason
from tui.widgets.entry_forms import DowntimeForm, EntryForm, refuse


class StopReasonDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close without saving.", id="cancel")]
    HELP = DowntimeForm.HELP

    def __init__(self, code: str, stops: list[DowntimeOut], reasons: list[ReasonOut], zone: ZoneInfo | None,
                 chosen: UUID | None = None) -> None:
        super().__init__()
        self.code = code
        self.stops = stops
        self.reasons = reasons
        self.zone = zone
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Why did {self.code} stop?", classes="dialog-title")
            yield DowntimeForm(id="downtime-form")
            yield Static("", id="reason-result")
        yield Footer()

    def on_mount(self) -> None:
        form = self.query_one(DowntimeForm)
        # The operator screen's reason list: reasons an operator may pick, named with their category.
        form.set_reasons(PlantReference([], [], [], self.reasons).reason_choices(quality=False))
        form.show_events(self.stops, {s.machine_id: self.code for s in self.stops}, self.zone)
        listing = self.query_one("#downtime-list", OptionList)
        if self.chosen is not None and self.stops:
            ids = [s.id for s in self.stops]
            listing.highlighted = ids.index(self.chosen) if self.chosen in ids else 0
        listing.focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(EntryForm.Submitted)
    def _submitted(self, message: EntryForm.Submitted) -> None:
        message.stop()
        self.send(dict(message.fields))

    @work(group="send", exit_on_error=False)
    async def send(self, fields: dict[str, str]) -> None:
        app = self.app
        session = app.session  # type: ignore[attr-defined]
        event = next((s for s in self.stops if str(s.id) == fields["event_id"]), None)
        label = f"downtime reason · {self.code}"
        meta = {
            "kind": "reason", "machine_id": str(event.machine_id) if event else None, "machine_code": self.code,
            "timezone": getattr(self.zone, "key", None), "fields": fields, "shift": None,
            "typed_at": datetime.now(UTC).isoformat(),
            "event": f"stop at {event.started_at.astimezone(self.zone):%a %d %b %H:%M}" if event else "stop",
        }
        result = self.query_one("#reason-result", Static)
        result.update(f"Sending {label}…")
        app.sending += 1  # type: ignore[attr-defined]
        try:
            outcome = await session.outbox.submit("POST", reason_path(fields["event_id"]),
                                                  {"reason_id": fields["reason_id"]}, label, meta=meta)
        except SessionEnded:
            raise
        except ClientError as exc:
            result.update("Not saved: see the message under the field.")
            field = "downtime-list" if exc.field == "event_id" or exc.status == 404 else "downtime-reason"
            refuse(self, field, operator_reason({"code": exc.code, "detail": exc.detail,
                                                 "field": exc.field, "extra": exc.extra or {}}))
            return
        finally:
            app.sending -= 1  # type: ignore[attr-defined]
        app.queue_length = len(session.outbox)  # type: ignore[attr-defined]
        if outcome.queued:
            app.online = not outcome.unreachable  # type: ignore[attr-defined]
            app.notify(f"Queued on this terminal: {label} ({len(session.outbox)} waiting).", title="Queued")
            app.kick_drain()  # type: ignore[attr-defined]
        else:
            app.online = True  # type: ignore[attr-defined]
            app.notify(f"Saved: {label}.", title="Saved")
        self.dismiss(True)
