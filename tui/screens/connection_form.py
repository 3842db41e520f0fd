"""View and edit how the poller reaches one machine: protocol, endpoint, poll interval,
signal mapping, polling on or paused. Saves itself, so a validation error from the server
(which names the field) leaves the form open with that field marked and focused.

Passwords are write-only: the server never sends them back; an empty field keeps the
stored one. Dismisses with True when the settings were saved or removed.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import MachineOut
from factoryos.connectivity.connection_models import ConnectionHealth, ConnectionOut
from tui.markup import escape
from tui.screens.confirm import Confirm
from tui.widgets.connection_fields import (
    SIGNALS,
    FieldReader,
    field_id,
    fill,
    modbus_body,
    modbus_fields,
    number,
    opcua_body,
    opcua_fields,
)
from tui.worker_errors import ShowsWorkerErrors

PROTOCOLS = (("Modbus TCP", "modbus"), ("OPC-UA", "opcua"))


def when(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """In the machine's site time when `zone` is given, like the machines list."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}" if moment else "never"


def health_text(health: ConnectionHealth | None, enabled: bool = True, zone: tzinfo | None = None) -> str:
    if health is None:
        return "No connection settings yet: the poller does not read this machine."
    if not enabled:
        state = "[b]paused[/b] (settings kept, not polled)"
    elif health.state == "reconnecting":
        state = "[b]reconnecting[/b] with the saved settings"
    elif health.last_error:
        state = f"[b]failing[/b]: {health.last_error}" + (f" ({health.error_code})" if health.error_code else "")
    elif health.last_ok:
        state = "[b]ok[/b]"
    else:
        state = "[b]waiting[/b] for the poller's first report"
    return f"State {state} · last ok {when(health.last_ok, zone)}"


class ConnectionForm(ShowsWorkerErrors, ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("ctrl+d", "remove", "Remove", tooltip="Delete these settings: the poller stops reading it.",
                id="remove"),
        Binding("ctrl+t", "test", "Test", tooltip="Read the machine once with these settings, without saving.",
                id="test"),
        Binding("ctrl+b", "browse", "Browse", tooltip="OPC-UA: pick the focused signal's node from the server.",
                id="browse"),
    ]
    HELP = """\
**Connection**: how the poller reads this machine. Choose the protocol, fill the endpoint
and where the good, reject and state signals live (alarm is optional), then **Ctrl+S**.
Switch **Polling** off to pause without losing the settings. Passwords are never shown:
leave them empty to keep the stored ones. **Ctrl+D** removes the settings.
**Ctrl+T** reads the machine once with what is typed, before saving. For OPC-UA, **Ctrl+B** in a
signal's field browses the server and puts the chosen node there.
OPC-UA **Values** by *subscription*: the server pushes each change with the PLC's own time stamp
(every **Publish s** seconds), so parts land in the minute they were made even when a poll is late.
**Deadband**: a change of the state or alarm value up to this size is ignored (for values that
jitter); counters take none, they are totals.
"""

    def __init__(self, api: FactoryClient, machine: MachineOut, current: ConnectionOut | None,
                 zone: tzinfo | None = None) -> None:
        super().__init__()
        self.api, self.machine, self.current = api, machine, current
        self.zone = zone  # the machine's site: times are read against the plant's clock

    def compose(self) -> ComposeResult:
        m, c = self.machine, self.current
        with Vertical(classes="dialog tall wide", id="connection-dialog"):
            yield Static(f"Connection of {m.code} · {m.name}", classes="dialog-title")
            yield Static(health_text(c.health if c else None, c.enabled if c else True, self.zone), id="cf-health")
            with VerticalScroll():
                with Horizontal(classes="form-row"):
                    yield Label("Protocol", classes="form-label")
                    yield Select(PROTOCOLS, allow_blank=False, value=c.protocol if c else "modbus", id="cf-protocol")
                    yield Label("Poll every s", classes="form-label auto")
                    yield Input(f"{c.poll_interval:g}" if c else "1", id="cf-poll_interval", classes="cf-small")
                    yield Label("Polling", classes="form-label auto")
                    yield Switch(value=c.enabled if c else True, id="cf-enabled")
                yield modbus_fields()
                yield opcua_fields()
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="cf-save")
                yield Button("Cancel", id="cf-cancel")
        yield Footer()

    def on_mount(self) -> None:
        c = self.current
        if c is not None:
            fill(self, c.protocol, c.endpoint, c.signals)
            for field, stored in (("endpoint.password", c.has_password),
                                  ("endpoint.security.private_key_password", c.has_key_password)):  # fmt: skip
                if stored:
                    self.query_one(f"#{field_id('opcua', field)}", Input).placeholder = "stored: empty keeps it"
        self._show(self.protocol)
        self.query_one("#cf-protocol", Select).focus()

    @property
    def protocol(self) -> str:
        return str(self.query_one("#cf-protocol", Select).value)

    @on(Select.Changed, "#cf-protocol")
    def _protocol_changed(self) -> None:
        self._show(self.protocol)

    def _show(self, protocol: str) -> None:
        self.query_one("#cf-modbus").display = protocol == "modbus"
        self.query_one("#cf-opcua").display = protocol == "opcua"
        self._acquisition_changed()

    @on(Select.Changed, "#cf-opcua-endpoint-acquisition")
    def _acquisition_changed(self) -> None:
        # Polling has no publishing interval: the field only applies to a subscription.
        acquisition = self.query_one("#cf-opcua-endpoint-acquisition", Select).value
        self.query_one("#cf-opcua-endpoint-publishing_interval", Input).disabled = acquisition != "subscription"

    def body(self) -> dict[str, Any]:
        reader = FieldReader(self, self.protocol)
        endpoint, signals = (modbus_body if self.protocol == "modbus" else opcua_body)(reader)
        if self.current is not None and "plausibility" in self.current.signals:
            # Not on this form: keep what was set through the API rather than resetting it.
            signals["plausibility"] = self.current.signals["plausibility"]
        body: dict[str, Any] = {"protocol": self.protocol, "enabled": self.query_one("#cf-enabled", Switch).value,
                                "endpoint": endpoint, "signals": signals}  # fmt: skip
        interval = self.query_one("#cf-poll_interval", Input).value.strip()
        if interval:
            body["poll_interval"] = number(interval)
        return body

    @on(Button.Pressed, "#cf-save")
    def action_save(self) -> None:
        for marked in self.query(".-invalid"):
            marked.remove_class("-invalid")
        self.save(self.body())

    @work(exclusive=True, group="connection-save", exit_on_error=False)
    async def save(self, body: dict[str, Any]) -> None:
        try:
            saved = await self.api.put_connection(self.machine.id, body)
        except ClientError as exc:
            if exc.status != 422:
                raise
            self._mark(exc)
            return
        self.app.notify(f"Saved the connection of {self.machine.code} ({saved.protocol}, "
                        f"{'polling' if saved.enabled else 'paused'}).", title="Saved")
        self.dismiss(True)

    def _mark(self, error: ClientError) -> None:
        """Name the field in the message, and put the cursor in it."""
        fields = [e.get("field") for e in error.extra.get("errors", []) if isinstance(e, dict)] or [error.field]
        widget = None
        for field in filter(None, fields):
            for candidate in (field_id(self.protocol, field), field_id(None, field)):
                found = self.query(f"#{candidate}")
                if found:
                    found.first().add_class("-invalid")
                    widget = widget or found.first()
                    break
        if widget is not None:
            widget.focus()
            widget.scroll_visible()
        self.notify(error.detail, title="Check the settings", severity="error", timeout=15)  # starts with the field

    def action_test(self) -> None:
        self.test(self.body())

    @work(exclusive=True, group="connection-test", exit_on_error=False)
    async def test(self, body: dict[str, Any]) -> None:
        line = self.query_one("#cf-health", Static)
        line.update("Testing: reading the machine once…")
        try:
            answer = await self.api.test_connection(self.machine.id, body)
        except ClientError as exc:
            if exc.status != 422:
                raise
            line.update("Test not run: check the settings.")
            self._mark(exc)
            return
        if answer.ok and answer.reading is not None:
            r = answer.reading
            alarm = f", alarm {r.alarm_code}" if r.alarm_code is not None else ""
            line.update(f"[b]Test ok[/b] in {answer.elapsed_ms} ms: good {r.good_raw}, reject {r.reject_raw}, "
                        f"state {r.state_code} ({r.state.replace('_', ' ')}){alarm}. Not saved yet.")
        else:
            line.update(f"[b]Test failed[/b]: {escape(answer.error or 'no answer')}")

    def action_browse(self) -> None:
        from tui.screens.opcua_browse import BrowseNodes

        if self.protocol != "opcua":
            self.notify("Browsing is for OPC-UA servers; Modbus has no address space to browse.",
                        title="Browse", severity="warning")
            return
        focused = self.focused
        signal = next((name for name in SIGNALS if focused is not None
                       and focused.id == field_id("opcua", f"signals.{name}")), None)
        if signal is None:
            self.notify("Put the cursor in the good, reject, state or alarm field first.", title="Browse",
                        severity="warning")
            return
        endpoint, _ = opcua_body(FieldReader(self, "opcua"))

        def chosen(node_id: str | None) -> None:
            if node_id is not None:
                field = self.query_one(f"#{field_id('opcua', f'signals.{signal}')}", Input)
                field.value = node_id
                field.focus()

        self.app.push_screen(BrowseNodes(self.api, self.machine.id, endpoint, signal), chosen)

    def action_remove(self) -> None:
        if self.current is None:
            self.notify("This machine has no connection settings yet.", title="Nothing to remove", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.remove_settings()

        self.app.push_screen(Confirm(f"Remove the connection settings of {self.machine.code}? "
                                     "The poller stops reading it.", "Remove"), answer)

    @work(exclusive=True, group="connection-save", exit_on_error=False)
    async def remove_settings(self) -> None:
        await self.api.delete_connection(self.machine.id)
        self.app.notify(f"Removed the connection of {self.machine.code}.", title="Removed")
        self.dismiss(True)

    @on(Button.Pressed, "#cf-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
