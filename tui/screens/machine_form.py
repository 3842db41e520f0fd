"""Create or edit one machine: site, line, code, name, ideal cycle, status and mapping.

Saves itself with the screen's `save` (a create body, or a patch of what changed) and closes
only when the server took it: a refusal (a code already taken, a cycle out of range) shows under
the field it names, so nothing typed is lost. Dismisses with the body, or None.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from factoryos.client import ClientError
from factoryos.client.models import LineOut, MachineOut, SiteOut
from tui.screens.plan_forms import Save, SavingForm
from tui.status_mapping import format_mapping, parse_mapping
from tui.widgets.dialog_buttons import save_cancel
from tui.widgets.field_error import FieldError


class MachineForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Fill the fields and press **Ctrl+S**. Status mapping: `1=running 2=idle default=unplanned_stop`."
    FIELDS = {"site_id": "m-site", "line_id": "m-line", "code": "m-code", "name": "m-name",
              "ideal_cycle_seconds": "m-cycle", "status": "m-status", "status_mapping": "m-mapping"}

    def __init__(self, sites: list[SiteOut], lines: list[LineOut], machine: MachineOut | None = None,
                 save: Save | None = None) -> None:
        super().__init__(save)
        self.sites, self.lines, self.machine = sites, lines, machine

    def compose(self) -> ComposeResult:
        m = self.machine
        with Vertical(classes="dialog tall"):
            yield Static(f"Edit machine {m.code}" if m else "New machine", classes="dialog-title")
            with VerticalScroll():
                if m is None:
                    yield self._row("Site", Select([(f"{s.code} · {s.name}", s.id) for s in self.sites],
                                                   id="m-site", allow_blank=len(self.sites) != 1,
                                                   value=self.sites[0].id if len(self.sites) == 1 else Select.NULL))
                    yield FieldError(id="m-site-error")
                yield self._row("Line", Select([], prompt="no line", id="m-line"))
                yield FieldError(id="m-line-error")
                yield self._row("Code", Input(m.code if m else "", placeholder="e.g. PRESS-01", id="m-code"),
                                "Name", Input(m.name if m else "", id="m-name"))
                yield FieldError(id="m-code-error")
                yield FieldError(id="m-name-error")
                yield self._row("Cycle s", Input(f"{m.ideal_cycle_seconds:g}" if m else "", type="number",
                                                 placeholder="ideal s/part", id="m-cycle"),
                                "Status", Select([("active", "active"), ("retired", "retired")], allow_blank=False,
                                                 value=m.status if m else "active", id="m-status"))
                yield FieldError(id="m-cycle-error")
                yield FieldError(id="m-status-error")
                yield self._row("Mapping", Input(format_mapping(m.status_mapping) if m else "default=unplanned_stop",
                                                 id="m-mapping"))
                yield FieldError(id="m-mapping-error")
                yield FieldError(id="form-error")
            yield save_cancel()
        yield Footer()

    @staticmethod
    def _row(label: str, field: Any, label2: str | None = None, field2: Any = None) -> Horizontal:
        parts = [Label(label, classes="form-label"), field]
        if label2 is not None:
            parts += [Label(label2, classes="form-label short"), field2]
        return Horizontal(*parts, classes="form-row")

    def on_mount(self) -> None:
        site = self.machine.site_id if self.machine else (self.sites[0].id if len(self.sites) == 1 else None)
        self._fill_lines(site)
        self.query_one("#m-code", Input).focus()

    def _fill_lines(self, site_id: UUID | None) -> None:
        select = self.query_one("#m-line", Select)
        select.set_options((f"{line.code} · {line.name}", line.id) for line in self.lines if line.site_id == site_id)
        if self.machine and self.machine.line_id:
            select.value = self.machine.line_id

    @on(Select.Changed, "#m-site")
    def _site_changed(self, event: Select.Changed) -> None:
        self._fill_lines(event.value if isinstance(event.value, UUID) else None)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self._clear_errors()
        try:
            body = self._body()
        except ClientError as exc:  # found here, before sending: said at its field
            text = exc.detail[:1].upper() + exc.detail[1:] + "."
            field = self.FIELDS.get(exc.field or "")
            if field is None:
                self.query_one("#form-error", FieldError).show(text)
            else:
                self.say_at(field, text)
            return
        if not body:
            self.dismiss(None)  # nothing changed: nothing to send
            return
        self.submit(body)

    def _body(self) -> dict[str, Any]:
        def text(selector: str) -> str:
            return self.query_one(selector, Input).value.strip()

        line = self.query_one("#m-line", Select).value
        body: dict[str, Any] = {
            "line_id": str(line) if isinstance(line, UUID) else None,
            "code": text("#m-code"), "name": text("#m-name"),
            "status": self.query_one("#m-status", Select).value,
            "status_mapping": parse_mapping(text("#m-mapping")),
        }
        if text("#m-cycle"):
            body["ideal_cycle_seconds"] = text("#m-cycle")
        if self.machine is None:
            site = self.query_one("#m-site", Select).value
            if not isinstance(site, UUID):
                raise ClientError("site_required", "choose the site", field="site_id")
            body["site_id"] = str(site)
            if body["line_id"] is None:
                del body["line_id"]
            return body
        m = self.machine
        before = {"line_id": str(m.line_id) if m.line_id else None, "code": m.code, "name": m.name,
                  "status": m.status, "status_mapping": parse_mapping(format_mapping(m.status_mapping)),
                  "ideal_cycle_seconds": f"{m.ideal_cycle_seconds:g}"}
        return {k: v for k, v in body.items() if before.get(k) != v}

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
