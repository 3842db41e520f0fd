"""Operator input for rugged terminals: pick the shift, type the machine code, then report
good parts, scrap with a reason, or give open downtime its reason. Keyboard only, 80×24.

Entries go through the outbox: when the server is unreachable they wait on disk (with
their Idempotency-Keys and the shift chosen) and are sent in order when it is back; the
status line shows how many are waiting. Those the server then refuses are listed under
Failed entries (F8), from where one opens here again, prefilled, to be fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Label, Select, Static, TabbedContent, TabPane
from textual.widgets.select import InvalidSelectValueError

from factoryos.client import ClientError, Pending, SessionEnded
from factoryos.client.api_production import ENTRY_PATH, REJECTION_PATH, reason_path
from factoryos.client.models import MachineOut, ShiftInstanceOut
from factoryos.client.outbox import Stamp
from tui.errors import describe, in_local_time
from tui.markup import escape as plain
from tui.reference import PlantReference, load_reference
from tui.screens.base import AppScreen
from tui.screens.failed_entries import FailedEntriesScreen, entry_kind, entry_shift, entry_zone, operator_reason
from tui.screens.inspection import DueInspectionsLine, InspectionsScreen
from tui.widgets.entry_forms import DowntimeForm, EntryForm, GoodPartsForm, ScrapForm, clear_refusals, refuse
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header
from tui.widgets.scan_input import ScanInput
from tui.widgets.status_line import ConnectionStatus


class OperatorScreen(AppScreen):
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "focus_shift", "Shift", tooltip="Choose the shift.", id="shift"),
        Binding("f3", "focus_machine", "Machine", tooltip="Type a machine code.", id="machine"),
        # Not in the footer (no room at 80 columns): the line under the machine names it.
        Binding("f4", "orders", "Orders", tooltip="The machine's running order and queue: start, pause, complete.",
                show=False, id="orders"),
        Binding("f5", "tab('good')", "Good", tooltip="Report good parts.", id="good"),
        Binding("f6", "tab('scrap')", "Scrap", tooltip="Report scrapped parts with a reason.", id="scrap"),
        Binding("f7", "tab('downtime')", "Downtime", tooltip="Give open downtime its reason.", id="downtime"),
        Binding("f8", "failed", "Failed", tooltip="Queued entries the server refused: fix, resend or discard.",
                id="failed"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load machines, shifts and reasons again.", show=False),
        Binding("f12", "maintenance_request", "Maintenance", tooltip="Raise a maintenance request for the machine "
                "(linked to its stop when it is stopped).", show=False, id="maintenance-request"),
        Binding("f10", "inspect", "Inspect", tooltip="Inspections due on the machine: record values.", show=False,
                id="inspect"),
        Binding("f9", "material", "Material", tooltip="Scan the material lots loaded on the machine.", show=False,
                id="material"),
    ]
    ACTION_PERMISSIONS = {"maintenance_request": ("maintenance.request",), "inspect": ("quality.inspect",),
                          "material": ("inventory.move",)}
    HELP = """\
**Operator input**

1. **F2** shift (the running one is chosen for you).
2. **F3** machine: type its code and press **Enter**.
3. **F4** the machine's orders (start, pause, complete, scan an order), **F5** good parts,
   **F6** scrap, **F7** downtime reasons.

Without a connection, entries are queued on this terminal and sent in order later, to
the shift chosen when they were typed. **F8** lists queued entries the server refused.
**F12** raises a maintenance request for the machine: for its stop when it is stopped, else
with what you say is wrong.
**F10** the machine's inspections: what is due, and recording values.
**F9** the machine's material: scan each lot as it is loaded.
"""

    AUTO_FOCUS = "#machine-code"
    DEFAULT_CSS = "OperatorScreen #op-run { height: 1; padding: 0 1; color: $text-muted; }"

    def __init__(self) -> None:
        super().__init__()
        self.machine: MachineOut | None = None
        self.shift: ShiftInstanceOut | None = None
        self.fixing: Pending | None = None  # the failed entry the form was prefilled from
        self._pinned_shift: ShiftInstanceOut | None = None  # its shift, offered even if not loaded

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="op-status"):
            yield ConnectionStatus(id="status")
            yield Static("", id="op-who")
        with Horizontal(classes="form-row"):
            yield Label("Shift", classes="form-label")
            yield Select[int]([], prompt="loading shifts…", id="shift-select", allow_blank=True)
        yield FieldError(id="shift-error")
        with Horizontal(classes="form-row"):
            yield Label("Machine", classes="form-label")
            yield ScanInput(placeholder="type the machine code", max_length=40, id="machine-code")
            yield Static("", id="machine-info")
        yield FieldError(id="machine-error")
        yield Static("", id="op-run")
        yield DueInspectionsLine(id="op-quality")
        with TabbedContent(id="op-tabs", initial="good"):
            with TabPane("Good parts F5", id="good"):
                yield GoodPartsForm(id="good-form")
            with TabPane("Scrap F6", id="scrap"):
                yield ScrapForm(id="scrap-form")
            with TabPane("Downtime F7", id="downtime"):
                yield DowntimeForm(id="downtime-form")
        yield Static("", id="op-result")
        yield Footer(compact=True)  # nine keys: the roomy style would cut Help off at 80 columns

    @property
    def reference(self) -> PlantReference | None:
        return self.session.reference

    def on_mount(self) -> None:
        self.query_one("#op-who", Static).update(f"{self.session.who} · {self.session.me.role_title}")
        if self.reference is not None:
            self._apply_reference()
        self.load()
        self.refresh_run()
        self.query_one("#machine-code", Input).focus()

    # -- reference data ------------------------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        try:
            self.session.reference = await load_reference(self.api)
        except ClientError as exc:
            if self.reference is None:
                raise
            self.notify(f"Using the machines and shifts loaded earlier. {describe(exc).message}",
                        title="Offline", severity="warning")
            return
        self.factory.online = True
        self._apply_reference()

    def action_reload(self) -> None:
        self.load()

    def _apply_reference(self) -> None:
        ref = self.reference
        assert ref is not None
        codes = [m.code for m in ref.machines]
        self.query_one("#machine-code", Input).suggester = SuggestFromList(codes, case_sensitive=False)
        self.query_one(ScrapForm).set_reasons(ref.reason_choices(quality=True))
        self.query_one(DowntimeForm).set_reasons(ref.reason_choices(quality=False))
        self._fill_shifts(self.machine.site_id if self.machine else None)
        if self.machine is not None:
            self.refresh_downtime()

    def _fill_shifts(self, site_id: UUID | None) -> None:
        ref = self.reference
        assert ref is not None
        shifts = [s for s in ref.shifts if site_id is None or s.site_id == site_id]
        pinned = self._pinned_shift
        if pinned is not None and pinned not in shifts and (site_id is None or pinned.site_id == site_id):
            shifts = sorted([*shifts, pinned], key=lambda s: s.starts_at)
        select = self.query_one("#shift-select", Select)
        select.set_options((ref.shift_label(s), i) for i, s in enumerate(shifts))
        self._shift_options = shifts
        keep = self.shift if self.shift in shifts else None
        running = next((s for s in shifts if ref.running_shift(s.site_id) == s), None)
        choice = keep or running
        if choice is not None:
            select.value = shifts.index(choice)
        self.shift = choice
        select.prompt = "choose a shift" if shifts else "no shifts defined for this site"

    @on(Select.Changed, "#shift-select")
    def _shift_changed(self, event: Select.Changed) -> None:
        clear_refusals(self, "shift-select")
        options = getattr(self, "_shift_options", [])
        self.shift = options[event.value] if isinstance(event.value, int) and event.value < len(options) else None

    # -- machine --------------------------------------------------------------------------------

    @on(Input.Submitted, "#machine-code")
    def _machine_entered(self, event: Input.Submitted) -> None:
        ref = self.reference
        info = self.query_one("#machine-info", Static)
        # Keys a scanner sent after Enter (say a quantity and Enter) belong to the form's first field.
        after = event.input.take_overflow() if isinstance(event.input, ScanInput) else ""
        if ref is None:
            self._result("Machines are not loaded yet: press Ctrl+R when the server is reachable.", "error")
            return
        typed = event.value
        # Enter takes the suggestion shown ("cnc" with "cnc-01" greyed in), as Tab or → would.
        suggestion = getattr(event.input, "_suggestion", "") or ""
        machine = ref.machine_by_code(typed) or (
            ref.machine_by_code(suggestion) if suggestion.casefold().startswith(typed.strip().casefold()) else None)
        if machine is None:
            self.machine = None
            info.update("")
            refuse(self, "machine-code", f"No active machine has the code {typed.strip()!r}.")
            return
        clear_refusals(self, "machine-code")
        self.machine = machine
        event.input.value = machine.code
        counts = ref.counts_itself(machine.id)
        info.update(f"{machine.name} · counts itself" if counts else machine.name)
        self._fill_shifts(machine.site_id)  # only this site's shifts (the chosen one stays if it is one)
        if counts:  # said in one line (the one under the form), at the field in full if parts are typed
            self._result(f"{machine.code} counts its own parts: enter only scrap and stop reasons.", "info")
        else:
            self._result(f"Machine {machine.code} selected.", "info")
        self.refresh_downtime()
        self.refresh_run()
        self._focus_form()
        if after:
            self._type_ahead(after)

    def _type_ahead(self, text: str) -> None:
        """Keys that outran the focus change go to the form's first field; an Enter among them sends it."""
        active = self.query_one(TabbedContent).active
        field = next(iter(self.query_one(f"#{active}-form", EntryForm).query(Input)), None)
        if field is None:
            return
        value, enter, _rest = text.partition("\r")
        field.value = value
        field.cursor_position = len(value)
        if enter:
            self.call_after_refresh(field.action_submit)

    @staticmethod
    def _counted_by_machine(machine: MachineOut) -> str:
        return f"Parts on {machine.code} are counted by the machine; enter only scrap and stop reasons here."

    def _focus_form(self) -> None:
        active = self.query_one(TabbedContent).active
        self.query_one(f"#{active}-form", EntryForm).focus_first()

    # -- sending --------------------------------------------------------------------------------

    @on(EntryForm.Submitted)
    def _submitted(self, message: EntryForm.Submitted) -> None:
        if self.machine is None:
            self._result("Type the machine code first (F3).", "error")
            self.query_one("#machine-code", Input).focus()
            return
        if message.kind != "reason" and self.shift is None:
            refuse(self, "shift-select", "Choose the shift first (F2).")
            return
        ref = self.reference
        if message.kind == "good" and ref is not None and ref.counts_itself(self.machine.id):
            refuse(self, "good-qty", self._counted_by_machine(self.machine))
            return
        self.send(message.kind, dict(message.fields))

    @work(group="send", exit_on_error=False)
    async def send(self, kind: str, fields: dict[str, Any]) -> None:
        machine, shift = self.machine, self.shift
        assert machine is not None
        where = {"machine_id": str(machine.id)}
        if shift is not None and shift.id is not None:
            where["shift_instance_id"] = str(shift.id)
        elif shift is not None:
            where |= {"shift_id": str(shift.pattern_id), "shift_date": shift.local_date.isoformat()}
        # Should the entry wait in the queue, its time is fixed now, inside the chosen shift:
        # sent later, the server would otherwise take its own "now", after the shift ended.
        end = shift.ends_at if shift is not None else None
        if kind == "good":
            path, body, stamp = ENTRY_PATH, where | fields, Stamp("ended_at", end)
            label = f"{fields['good_quantity']} good · {machine.code}"
        elif kind == "scrap":
            path, body = REJECTION_PATH, where | fields
            stamp = Stamp("occurred_at", end - timedelta(microseconds=1) if end else None)
            label = f"{fields['quantity']} scrap · {machine.code}"
        else:
            path, body, stamp = reason_path(fields["event_id"]), {"reason_id": fields["reason_id"]}, None
            label = f"downtime reason · {machine.code}"
        outbox = self.session.outbox
        fixing = self.fixing if self.fixing is not None and entry_kind(self.fixing) == kind else None
        self.factory.sending += 1
        self._result(f"Sending {label}…", "info")
        try:
            outcome = await outbox.submit("POST", path, body, label, stamp=stamp, replaces=fixing,
                                          meta=self._meta(kind, fields, machine, shift))
        except SessionEnded:
            raise
        except ClientError as exc:
            self._refused(kind, exc, machine, shift)
            return
        finally:
            self.factory.sending -= 1
        if fixing is not None:
            self.fixing = None
            self.factory.failed_count = outbox.failed_count()
        form = self.query_one(f"#{ {'good': 'good', 'scrap': 'scrap', 'reason': 'downtime'}[kind] }-form", EntryForm)
        self.factory.queue_length = len(outbox)
        if outcome.queued:
            if outcome.unreachable:
                self.factory.online = False
            self._result(f"Queued on this terminal: {label} ({len(outbox)} waiting).", "queued")
            self.factory.kick_drain()
        else:
            self.factory.online = True
            self._result(f"Saved: {label}.", "ok")
        form.reset()
        if kind == "reason":
            if outcome.queued:
                self._forget_event(fields["event_id"])
            else:
                self.refresh_downtime()

    def _refused(self, kind: str, exc: ClientError, machine: MachineOut, shift: ShiftInstanceOut | None) -> None:
        """The server's refusal at the field it names, in the site's time and an operator's words."""
        ref = self.reference
        site = ref.site(machine.site_id) if ref else None
        zone = ZoneInfo(site.timezone) if site else UTC
        code, extra = exc.code, exc.extra or {}
        reason_field = "scrap-reason" if kind == "scrap" else "downtime-reason"
        quantity_field = "good-qty" if kind == "good" else "scrap-qty"
        if code in ("entry_outside_shift", "rejection_outside_shift") and shift is not None:
            start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
            field, text = "shift-select", (f"This shift runs {start:%H:%M}–{end:%H:%M}: pick the shift "
                                           "the parts were made in.")
        elif code == "quantity_exceeds_ideal_rate":
            limit = extra.get("max_quantity")
            most = f"at most {limit} parts" if limit is not None else "fewer parts"
            field, text = quantity_field, f"{machine.code} can make {most} in that time."
        elif code == "entry_overlaps_machine_counts":
            if ref is not None:
                ref.counting.add(machine.id)
                self.query_one("#machine-info", Static).update(f"{machine.name} · counts itself")
            field, text = quantity_field, self._counted_by_machine(machine)
        elif code == "entry_overlap":
            field, text = quantity_field, f"Another entry already covers this time on {machine.code}."
        elif exc.field in ("good_quantity", "rework_quantity", "quantity"):
            field, text = quantity_field, in_local_time(operator_reason(_problem(exc)), zone)
        elif exc.field == "reason_id" or (code or "").startswith("reason_"):
            field, text = reason_field, operator_reason(_problem(exc))
        elif exc.field == "job_ref":
            field, text = "job-ref", in_local_time(describe(exc).message, zone)
        elif exc.field in ("machine_id", "operator_id") or code in ("not_a_site_operator", "machine_retired"):
            field, text = "machine-code", operator_reason(_problem(exc))
        elif kind != "reason" and (exc.field in ("started_at", "ended_at", "occurred_at", "shift_instance_id",
                                                 "shift_id", "shift_date") or "shift" in (code or "")):
            field, text = "shift-select", in_local_time(operator_reason(_problem(exc)), zone)
        else:
            self._result(in_local_time(operator_reason(_problem(exc)), zone), "error")
            return
        if kind == "reason" and field == quantity_field:
            field = reason_field
        self._result("Not saved: see the message under the field.", "error")
        refuse(self, field, text)

    def _meta(self, kind: str, fields: dict[str, Any], machine: MachineOut,
              shift: ShiftInstanceOut | None) -> dict[str, Any]:
        """What the operator chose, kept with a queued entry to show and fix it if it is refused."""
        ref = self.reference
        site = ref.site(machine.site_id) if ref else None
        meta: dict[str, Any] = {
            "kind": kind, "machine_id": str(machine.id), "machine_code": machine.code,
            "timezone": site.timezone if site else None, "fields": fields,
            "shift": shift.model_dump(mode="json") if shift is not None and kind != "reason" else None,
            "typed_at": datetime.now(UTC).isoformat(),
        }
        if kind == "reason":
            event = next((e for e in getattr(self, "_events", []) if str(e.id) == fields["event_id"]), None)
            zone = ZoneInfo(site.timezone) if site else UTC
            meta["event"] = f"stop at {event.started_at.astimezone(zone):%a %d %b %H:%M}" if event else "stop"
        return meta

    def _forget_event(self, event_id: str) -> None:
        events = [e for e in getattr(self, "_events", []) if str(e.id) != event_id]
        self._show_events(events)

    # -- downtime list ----------------------------------------------------------------------------

    @work(exclusive=True, group="downtime", exit_on_error=False)
    async def refresh_downtime(self) -> None:
        machine = self.machine
        if machine is None:
            return
        try:
            events = await self.api.downtime(machine_id=machine.id, needs_reason=True)
        except ClientError as exc:
            if exc.transient:
                self.factory.online = False
                return
            raise
        self._show_events(sorted(events, key=lambda e: e.started_at, reverse=True))

    def _show_events(self, events: list) -> None:
        self._events = events
        ref = self.reference
        codes = {m.id: m.code for m in ref.machines} if ref else {}
        site = ref.site(self.machine.site_id) if ref and self.machine else None
        self.query_one(DowntimeForm).show_events(events, codes, ZoneInfo(site.timezone) if site else None)
        tab = self.query_one(TabbedContent).get_tab("downtime")
        tab.label = f"Downtime ({len(events)}) F7" if events else "Downtime F7"

    # -- actions ----------------------------------------------------------------------------------

    def _result(self, text: str, kind: str) -> None:
        # The site's clock, as on the dashboard (the terminal's own zone may differ).
        ref = self.reference
        site = (ref.site(self.machine.site_id) if self.machine else (ref.sites[0] if ref.sites else None)) \
            if ref is not None else None
        stamp = datetime.now(ZoneInfo(site.timezone) if site else UTC).strftime("%H:%M:%S")
        line = self.query_one("#op-result", Static)
        line.update(f"{stamp}  {text}")
        line.set_classes(f"message-{kind}")

    def action_failed(self) -> None:
        self.app.push_screen(FailedEntriesScreen(), self._fix)

    def _fix(self, item: Pending | None) -> None:
        """Prefill the form from a failed entry; sending it replaces the failed one."""
        if item is None:
            return
        ref = self.reference
        if ref is None:
            self._result("Machines are not loaded yet: press Ctrl+R when the server is reachable.", "error")
            return
        meta, body = item.meta or {}, item.body or {}
        kind = entry_kind(item)
        machine_id = meta.get("machine_id") or body.get("machine_id")
        machine = ref.machine(UUID(machine_id)) if machine_id else None
        if machine is None:
            self._result("That machine is no longer active: discard the entry (F8, d).", "error")
            return
        self.fixing = item
        self.machine = machine
        self.query_one("#machine-code", Input).value = machine.code
        self.query_one("#machine-info", Static).update(machine.name)
        chosen = entry_shift(item, ref) if kind != "reason" else None
        if chosen is not None:
            # The loaded instance when there is one (it may have an id by now), else the one kept with the entry.
            loaded = next((s for s in ref.shifts
                           if s.pattern_id == chosen.pattern_id and s.local_date == chosen.local_date), None)
            self._pinned_shift = None if loaded else chosen
            self.shift = loaded or chosen
        self._fill_shifts(machine.site_id)
        if kind == "good":
            self.query_one("#good-qty", Input).value = str(body.get("good_quantity", ""))
            self.query_one("#job-ref", Input).value = str(body.get("job_ref") or "")
        elif kind == "scrap":
            self.query_one("#scrap-qty", Input).value = str(body.get("quantity", ""))
            if body.get("reason_id"):
                try:
                    self.query_one("#scrap-reason", Select).value = UUID(body["reason_id"])
                except InvalidSelectValueError:  # the reason was retired meanwhile: the operator picks one
                    pass
        self.refresh_downtime()
        self.action_tab({"good": "good", "scrap": "scrap"}.get(kind, "downtime"))
        why = in_local_time(operator_reason(item.error), entry_zone(item, ref))
        self._result(f"Fix, then save: {why}", "error")
        self.notify(why, title="Fixing a refused entry", severity="warning")

    # -- the machine's running order ----------------------------------------------------------------

    @work(exclusive=True, group="run", exit_on_error=False)
    async def refresh_run(self) -> None:
        machine, line = self.machine, self.query_one("#op-run", Static)
        self.query_one(DueInspectionsLine).show_for(machine, self._zone(machine))
        if not self.session.can("orders.view"):
            line.update("")
            return
        if machine is None:
            line.update("[b]F4[/b] the machine's orders (start, pause, complete, scan): type its code first")
            return
        try:
            run = await self.api.machine_run(machine.id)
        except ClientError as exc:
            if exc.transient:
                self.factory.online = False
                return
            if exc.status == 403:  # a member denied orders.view: no line, no complaint
                line.update("")
                return
            raise
        if run is None:
            line.update(f"Nothing runs on {machine.code} · [b]F4[/b] orders: start one, or scan its number")
        else:
            line.update(f"Running {plain(run.job_number)} · {run.operation_seq} {plain(run.operation_name)} · "
                        f"{run.good}/{run.quantity} good · [b]F4[/b] orders")

    def on_screen_resume(self) -> None:
        if self.machine is not None:
            self.refresh_run()  # back from the orders at the machine: what runs may have changed

    def action_orders(self) -> None:
        machine, ref = self.machine, self.reference
        if machine is None:
            refuse(self, "machine-code", "Type the machine code first: its orders open with F4.")
            return
        from tui.screens.machine_run import RunScreen

        site = ref.site(machine.site_id) if ref else None
        self.app.push_screen(RunScreen(machine, ZoneInfo(site.timezone) if site else None))

    def action_material(self) -> None:
        from tui.screens.scan_lot import open_from_operator

        open_from_operator(self)

    def action_maintenance_request(self) -> None:
        from tui.screens.maintenance_request import raise_from_operator

        raise_from_operator(self)

    def _zone(self, machine: MachineOut | None) -> ZoneInfo | None:
        site = self.reference.site(machine.site_id) if machine and self.reference else None
        return ZoneInfo(site.timezone) if site else None

    def action_inspect(self) -> None:
        if self.machine is None:
            refuse(self, "machine-code", "Type the machine code first: its inspections open with F10.")
            return
        self.app.push_screen(InspectionsScreen(self.machine, self._zone(self.machine)))

    def action_focus_shift(self) -> None:
        self.query_one("#shift-select", Select).focus()

    def action_focus_machine(self) -> None:
        self.query_one("#machine-code", Input).focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.call_after_refresh(self._focus_form)


def _problem(exc: ClientError) -> dict[str, Any]:
    return {"code": exc.code, "detail": exc.detail, "field": exc.field, "extra": exc.extra or {}}
