"""Publishing to the company's MQTT broker: the settings, the publisher's health in words, a test
message, changing the settings and stopping publishing."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, DataTable, Footer, Input, Label, Select, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.integrations.mqtt_publish_models import MqttPublishIn, MqttPublishOut
from factoryos.plain_errors import plain
from tui.screens.confirm import Confirm
from tui.screens.plan_forms import SavingForm
from tui.widgets.admin_tab import AdminTab
from tui.widgets.field_error import FieldError
from tui.widgets.tick_list import TickBox

MODES = [("Sparkplug B and JSON topics", "both"), ("Sparkplug B only", "sparkplug"), ("JSON topics only", "tree")]
HEALTH = {"connecting": "connecting (saved, not connected yet)", "connected": "connected",
          "error": "PROBLEM", "disabled": "switched off"}
URL = re.compile(r"^mqtts?://[^/:\s]+(:\d{1,5})?/?$")


def _when(at: Any) -> str:
    return f"{at.astimezone():%d %b %H:%M:%S}" if at is not None else "never"


def publish_rows(p: MqttPublishOut) -> list[tuple[str, str]]:
    h = p.health
    health = HEALTH.get(h.state, h.state) + (f": {h.last_error}" if h.state == "error" and h.last_error else "")
    return [
        ("Health", health),
        ("Broker", p.url + (f" as {p.username}" if p.username else "") + (" (password set)" if p.password_set else "")),
        ("Publishes", {v: t for t, v in MODES}.get(p.mode, p.mode)),
        ("JSON topics", f"{p.topic_prefix}/<site>/<line>/<machine>/…"),
        ("Sparkplug", f"group {p.group_id}, node {p.edge_node_id}"),
        ("Every", f"{p.interval_seconds} s (OEE every {p.oee_seconds} s)"),
        ("Last published", _when(h.last_published_at)),
        ("Last connected", _when(h.last_connected_at)),
    ]


def _row(label: str, field: Any) -> Horizontal:
    return Horizontal(Label(label, classes="form-label"), field, classes="form-row")


class MqttPublishForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = ("The broker as mqtt://host:port (mqtts:// for TLS). A password left empty keeps the stored one. "
            "Prefix and group may stay empty: the company's name is used.")
    FIELDS = {"url": "m-url", "username": "m-user", "password": "m-password", "mode": "m-mode",
              "topic_prefix": "m-prefix", "group_id": "m-group", "interval_seconds": "m-interval",
              "oee_seconds": "m-oee"}

    def __init__(self, current: MqttPublishOut | None, save: Any) -> None:
        super().__init__(save)
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        with Vertical(classes="dialog tall"):
            yield Static("Publish to an MQTT broker", classes="dialog-title")
            with VerticalScroll():  # taller than 24 rows: the fields scroll, the buttons stay
                for label, field, ident in (
                    ("Broker", Input(c.url if c else "", placeholder="mqtts://broker.plant.lan:8883", id="m-url"),
                     "m-url"),
                    ("User", Input((c.username or "") if c else "", id="m-user"), "m-user"),
                    ("Password", Input(password=True, placeholder="(kept)" if c and c.password_set else "",
                                       id="m-password"), "m-password"),
                    ("Publish", Select(MODES, value=c.mode if c else "both", allow_blank=False, id="m-mode"),
                     "m-mode"),
                    ("Prefix", Input(c.topic_prefix if c else "", placeholder="(company name)", id="m-prefix"),
                     "m-prefix"),
                    ("Group", Input(c.group_id if c else "", placeholder="(prefix's first level)", id="m-group"),
                     "m-group"),
                    ("Every s", Input(str(c.interval_seconds if c else 2), type="integer", id="m-interval"),
                     "m-interval"),
                    ("OEE s", Input(str(c.oee_seconds if c else 60), type="integer", id="m-oee"), "m-oee"),
                ):
                    yield _row(label, field)
                    yield FieldError(id=f"{ident}-error")
                yield TickBox("Publishing on", c.enabled if c else True, id="m-enabled")
            yield FieldError(id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#m-url", Input).focus()

    def _value(self, ident: str) -> str:
        return self.query_one(f"#{ident}", Input).value.strip()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self._clear_errors()
        url = self._value("m-url")
        if not URL.match(url):
            self.say_at("m-url", "Write the broker as mqtt://host:port, or mqtts://host:port for TLS.")
            return
        for ident, low, what in (("m-interval", 1, "How often to publish"), ("m-oee", 5, "How often to send OEE")):
            text = self._value(ident)
            if not text.isdigit() or not low <= int(text) <= 3600:
                self.say_at(ident, f"{what}: whole seconds from {low} to 3600.")
                return
        body: dict[str, Any] = {"url": url, "username": self._value("m-user") or None,
                                "mode": self.query_one("#m-mode", Select).value,
                                "topic_prefix": self._value("m-prefix") or None,
                                "group_id": self._value("m-group") or None,
                                "interval_seconds": int(self._value("m-interval")),
                                "oee_seconds": int(self._value("m-oee")),
                                "enabled": self.query_one("#m-enabled", Checkbox).value}
        if password := self.query_one("#m-password", Input).value:
            body["password"] = password
        self.submit(body)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def settings_of(body: dict[str, Any]) -> MqttPublishIn:
    """The form's body as the API's model; a value it refuses is said at its field like a server refusal."""
    try:
        return MqttPublishIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else None
        raise ClientError("validation_failed", plain(first), field=field, status=422) from None


class MqttPublishPane(AdminTab):
    BINDINGS = [
        Binding("e", "edit", "Settings", tooltip="Set up or change publishing to the broker.", id="mqtt-edit"),
        Binding("t", "test", "Test", tooltip="Publish one test message with the saved settings.", id="mqtt-test"),
        Binding("delete", "remove", "Stop", tooltip="Stop publishing and forget the settings.", id="mqtt-remove"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Ask the server again.", id="reload"),
    ]
    HELP = ("**MQTT**: machine state, counts, running order and OEE published to the plant's broker. **E** sets it "
            "up or changes it, **T** sends a test message, **Delete** stops publishing, **Ctrl+R** asks again.")

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.current: MqttPublishOut | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="mqtt-summary")
        table: DataTable[str] = DataTable(id="mqtt-table", cursor_type="row", zebra_stripes=True, show_header=False)
        table.add_column("What", key="what")
        table.add_column("Value", key="value")
        yield table

    @work(exclusive=True, group="mqtt-publish", exit_on_error=False)
    async def load(self) -> None:
        try:
            self.current = await self.api.mqtt_publish()
        except ClientError as exc:
            if exc.status != 404:
                raise
            self.current = None
        table = self.query_one("#mqtt-table", DataTable)
        table.clear()
        summary = self.query_one("#mqtt-summary", Static)
        if self.current is None:
            summary.update("Not publishing to a broker. E sets it up.")
            return
        for what, value in publish_rows(self.current):
            table.add_row(what, value, key=what)
        h = self.current.health
        summary.update(Content.from_markup("[b]Needs attention:[/b] $error", error=h.last_error or "the publisher "
                                           "cannot reach the broker") if h.state == "error"
                       else f"[b]Publishing[/b] · {HEALTH.get(h.state, h.state)}")

    def action_edit(self) -> None:
        async def save(body: dict[str, Any]) -> None:
            await self.api.set_mqtt_publish(settings_of(body))

        def closed(result: dict[str, Any] | None) -> None:
            if result is not None:
                self.notify("Publishing settings saved: the publisher picks them up within seconds.", title="Saved")
                self.load()

        self.app.push_screen(MqttPublishForm(self.current, save), closed)

    @work(group="mqtt-test", exit_on_error=False)
    async def action_test(self) -> None:
        if self.current is None:
            self.notify("Set publishing up first (E).", title="Nothing to test", severity="warning")
            return
        result = await self.api.test_mqtt_publish()
        if result.ok:
            self.notify(f"Test message published to {result.topic}.", title="Broker reached")
        else:
            self.notify(result.error or "The broker did not take the message.", title="Test failed", severity="error")

    def action_remove(self) -> None:
        if self.current is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_publishing()

        self.app.push_screen(Confirm("Stop publishing to the broker and forget these settings?", "Stop"), answer)

    @work(group="mqtt-remove", exit_on_error=False)
    async def stop_publishing(self) -> None:
        await self.api.remove_mqtt_publish()
        self.app.notify("Publishing stopped.", title="Stopped")
        self.load()
