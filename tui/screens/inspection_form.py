"""Record an inspection at the machine: one field per measured part, pass/fail per attribute.

Keyboard only: a value and Enter go to the next field, so a gauge that types like a
keyboard and sends Enter fills the form part by part; Enter in the last field saves (as
Ctrl+S does). Each value is checked as it is typed: one outside the characteristic's
physical limits cannot be right and is refused; one outside the specification is flagged
at the field at once ("0.02 above the upper limit 10.05 mm") and saved as out of spec.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Label, Select, Static

from factoryos.client import ClientError
from factoryos.client.models import MachineOut
from factoryos.nonconformances.nc_models import NcOut
from factoryos.quality.inspection_models import InspectionOut
from factoryos.quality.plan_models import CharacteristicOut, VersionOut
from tui.errors import describe
from tui.markup import escape as plain
from tui.screens.base import AppScreen
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header

PASS = "pass"
PARTS_PER_ROW = 5  # 18 + 5 × 12 columns: a sample of 5 fits at 80 columns (scroll bar too), more wrap
_FIELD = re.compile(r"^results\[(\d+)\](?:\.values\[(\d+)\])?")


def fmt(value: Decimal | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def spec_text(c: CharacteristicOut) -> str:
    unit = f" {c.unit}" if c.unit else ""
    if c.kind == "attribute":
        return "pass / fail"
    if c.lsl is not None and c.usl is not None:
        limits = f"{fmt(c.lsl, c.decimals)} … {fmt(c.usl, c.decimals)}{unit}"
    elif c.usl is not None:
        limits = f"at most {fmt(c.usl, c.decimals)}{unit}"
    else:
        limits = f"at least {fmt(c.lsl, c.decimals)}{unit}"
    parts = f" · {c.sample_size} parts" if c.sample_size > 1 else ""
    return limits + parts


def check_value(c: CharacteristicOut, text: str) -> tuple[str, str] | None:
    """(severity, words) for a typed value: "error" cannot be saved, "warning" is out of spec."""
    unit = f" {c.unit}" if c.unit else ""
    raw = text.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return "error", f"Not a number: {text.strip()!r}"
    if not value.is_finite():
        return "error", f"Not a number: {text.strip()!r}"
    if c.min_value is not None and value < c.min_value:
        return "error", f"Cannot be right: below {fmt(c.min_value, c.decimals)}{unit}. Measure again."
    if c.max_value is not None and value > c.max_value:
        return "error", f"Cannot be right: above {fmt(c.max_value, c.decimals)}{unit}. Measure again."
    if c.usl is not None and value > c.usl:
        return "warning", f"OUT OF SPEC: {fmt(value - c.usl, c.decimals)} above the upper limit " \
                          f"{fmt(c.usl, c.decimals)}{unit}"
    if c.lsl is not None and value < c.lsl:
        return "warning", f"OUT OF SPEC: {fmt(c.lsl - value, c.decimals)} below the lower limit " \
                          f"{fmt(c.lsl, c.decimals)}{unit}"
    return None


def release_line(version: VersionOut, zone: tzinfo | None) -> str:
    """Who released the version with their signature, and whether it still matches the version."""
    if not version.signatures:
        return "[dim]released without a signature[/dim]"
    s = version.signatures[-1]
    at = s.signed_at.astimezone(zone) if zone else s.signed_at
    line = f"✍ released by {plain(s.signer_name)} ({plain(s.meaning)}) {at:%Y-%m-%d %H:%M %Z}"
    return f"[dim]{line}[/dim]" if s.valid else f"[b reverse] {line}: NO LONGER VALID [/]"


def value_id(i: int, j: int) -> str:
    return f"c{i}-v{j}"


class InspectionForm(AppScreen):
    BINDINGS = [
        Binding("escape", "back", "Cancel", tooltip="Leave without saving.", id="cancel"),
        # Once saved there is nothing to cancel: the same key says what it does then.
        Binding("escape", "done", "Back", tooltip="Back to the machine's inspections.", id="done"),
        Binding("ctrl+s", "save", "Save", tooltip="Record the inspection.", id="save"),
        Binding("ctrl+g", "chart", "Chart", tooltip="The SPC chart of the characteristic in the field.", id="chart"),
        Binding("f4", "open_nc", "Open NC", tooltip="Open a nonconformance for the out-of-spec inspection just saved.",
                id="open-nc"),
    ]
    HELP = """\
**Record an inspection**

Type each value and press **Enter** (a gauge that types and sends Enter works the same):
the next field follows, and Enter in the last one saves. A value out of specification is
marked at once and saved as such; one that cannot be right (e.g. a negative length) is
refused. **Ctrl+G** shows the SPC chart of the characteristic in the field. Once an
inspection out of specification is saved, **F4** opens a nonconformance for it (machine,
order, parts and what was found are taken from the inspection).
"""
    DEFAULT_CSS = """
    InspectionForm .insp-name { width: 18; padding: 0 1; }
    InspectionForm .insp-spec { padding: 0 1; color: $text-muted; }
    InspectionForm .insp-row { height: 3; }
    InspectionForm .insp-row Input { width: 12; }
    InspectionForm .insp-row Select { width: 40; }
    InspectionForm FieldError.-warning { color: $text-warning; }
    InspectionForm #insp-result { height: auto; padding: 0 1; }
    """

    def __init__(self, machine: MachineOut, plan_id: UUID, trigger: str, zone: tzinfo | None) -> None:
        super().__init__()
        self.machine, self.plan_id, self.trigger, self.zone = machine, plan_id, trigger, zone
        self.version: VersionOut | None = None
        self.saved: InspectionOut | None = None
        self.nc: NcOut | None = None  # the NC opened for the saved inspection (F4), at most one
        self._found = ""  # what the saved inspection found out of spec, kept above the NC's line
        self._order: list[str] = []  # the fields in Enter order
        self._sending = False  # one inspection per form: Enter in the last field and Ctrl+S may both ask

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Loading the plan for [b]{plain(self.machine.code)}[/b]…", id="insp-plan")
        yield VerticalScroll(id="insp-fields")
        yield Static("", id="insp-result")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="inspection-plan", exit_on_error=False)
    async def load(self) -> None:
        plan = await self.api.inspection_plan(self.plan_id)
        if plan.released_version is None:
            self.query_one("#insp-plan", Static).update("This plan has no released version.")
            return
        self.version = await self.api.plan_version(self.plan_id, plan.released_version)
        self.query_one("#insp-plan", Static).update(
            f"[b]{plain(plan.name)}[/b] v{self.version.version} on {plain(self.machine.code)} · "
            f"{plain(self.trigger.replace('_', ' '))}\n{release_line(self.version, self.zone)}")
        await self._build(self.version.characteristics)

    async def _build(self, characteristics: list[CharacteristicOut]) -> None:
        box = self.query_one("#insp-fields", VerticalScroll)
        for i, c in enumerate(characteristics):
            row = Horizontal(classes="insp-row")
            await box.mount(row)
            await row.mount(Label(plain(c.name), classes="insp-name"))
            if c.kind == "measured":
                for j in range(c.sample_size):
                    if j and j % PARTS_PER_ROW == 0:  # the next parts under the first ones, not off the screen
                        row = Horizontal(classes="insp-row")
                        await box.mount(row)
                        await row.mount(Label("", classes="insp-name"))
                    field = Input(placeholder=f"part {j + 1}" if c.sample_size > 1 else "value", id=value_id(i, j),
                                  max_length=24)
                    await row.mount(field)
                    self._order.append(field.id or "")
            else:
                options = [("Pass", PASS)] + ([(f"Fail: {d}", d) for d in c.defects] or [("Fail", "")])
                select: Select[str] = Select(options, prompt="pass or fail?", id=f"c{i}-result")
                await row.mount(select)
                self._order.append(select.id or "")
            await box.mount(Static(spec_text(c), classes="insp-spec"))
            await box.mount(FieldError(id=f"c{i}-error"))
        if self._order:
            self.query_one(f"#{self._order[0]}").focus()

    def _characteristic_of(self, field_id: str) -> tuple[int, CharacteristicOut] | None:
        if self.version is None or not field_id.startswith("c"):
            return None
        i = int(field_id[1:].split("-")[0])
        return i, self.version.characteristics[i]

    def _flag(self, i: int) -> bool:
        """Show the worst finding of characteristic i at its line; False when a value cannot be saved."""
        assert self.version is not None
        c = self.version.characteristics[i]
        line = self.query_one(f"#c{i}-error", FieldError)
        line.remove_class("-warning")
        line.clear()
        if c.kind != "measured":
            return True
        findings = [(j, check_value(c, self.query_one(f"#{value_id(i, j)}", Input).value))
                    for j in range(c.sample_size)]
        for j, found in findings:
            self.query_one(f"#{value_id(i, j)}", Input).set_class(found is not None and found[0] == "error",
                                                                  "-invalid")
        errors = [f for _, f in findings if f and f[0] == "error"]
        warnings = [f for _, f in findings if f and f[0] == "warning"]
        if errors:
            line.show(errors[0][1])
            return False
        if warnings:
            line.add_class("-warning")
            line.show(warnings[0][1])
        return True

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        found = self._characteristic_of(event.input.id or "")
        if found is not None:
            self._flag(found[0])

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        found = self._characteristic_of(event.input.id or "")
        if found is None or not self._flag(found[0]) or not event.value.strip():
            return
        self._advance(event.input.id or "")

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.select.has_focus:
            self._advance(event.select.id or "")

    def _advance(self, field_id: str) -> None:
        at = self._order.index(field_id)
        if at + 1 < len(self._order):
            self.query_one(f"#{self._order[at + 1]}").focus()
        else:
            self.action_save()

    def _results(self) -> list[dict[str, Any]] | None:
        assert self.version is not None
        out: list[dict[str, Any]] = []
        for i, c in enumerate(self.version.characteristics):
            if not self._flag(i):
                return None
            if c.kind == "measured":
                values = [self.query_one(f"#{value_id(i, j)}", Input).value.strip().replace(",", ".")
                          for j in range(c.sample_size)]
                missing = next((j for j, v in enumerate(values) if not v), None)
                if missing is not None:
                    self.query_one(f"#c{i}-error", FieldError).show(
                        f"Measure part {missing + 1}." if c.sample_size > 1 else "Type the value.")
                    self.query_one(f"#{value_id(i, missing)}").focus()
                    return None
                out.append({"characteristic_id": str(c.id), "values": values})
            else:
                choice = self.query_one(f"#c{i}-result", Select).value
                if choice is Select.NULL:
                    self.query_one(f"#c{i}-error", FieldError).show("Choose pass or fail.")
                    self.query_one(f"#c{i}-result").focus()
                    return None
                passed = choice == PASS
                out.append({"characteristic_id": str(c.id), "passed": passed,
                            "defect": None if passed or not choice else choice})
        return out

    def action_save(self) -> None:
        if self.version is None or self.saved is not None or self._sending:
            return
        results = self._results()
        if results is not None:
            self._sending = True
            self.send(results)

    @work(exclusive=True, group="inspection-send", exit_on_error=False)
    async def send(self, results: list[dict[str, Any]]) -> None:
        result = self.query_one("#insp-result", Static)
        try:
            out = await self.api.record_inspection(self.machine.id, self.plan_id, results,
                                                   trigger=None if self.trigger == "manual" else self.trigger)
        except ClientError as exc:
            self._sending = False
            self._refused(exc)
            return
        self.saved = out
        self.refresh_bindings()
        if out.result == "pass":
            result.update("[b]Saved: all in specification.[/b] Escape goes back.")
        else:
            lines = [f"{plain(r.name)}: {plain(r.message or 'out of specification')}" for r in out.results
                     if r.out_of_spec]
            self._found = f"[b reverse] SAVED — {out.out_of_spec} OUT OF SPEC [/]\n" + "\n".join(lines)
            result.update(self._found + "\nTell your supervisor. [b]F4[/b] opens a nonconformance for it. "
                                        "Escape goes back.")
        self.notify(f"Inspection of {self.machine.code} saved: {out.result}.", title="Inspection")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("back", "save"):
            return self.saved is None
        if action == "done":
            return self.saved is not None
        if action == "open_nc":
            session = self.factory.session
            return (self.saved is not None and self.saved.result == "fail" and self.nc is None
                    and session is not None and session.can("quality.inspect"))
        return super().check_action(action, parameters)

    def action_open_nc(self) -> None:
        if self.saved is not None and self.saved.result == "fail" and self.nc is None:
            self.open_nc(self.saved.id)

    @work(exclusive=True, group="inspection-nc", exit_on_error=False)
    async def open_nc(self, inspection_id: UUID) -> None:
        result = self.query_one("#insp-result", Static)
        try:
            nc = await self.api.open_nonconformance({"source": "inspection", "source_id": str(inspection_id)})
        except ClientError as exc:
            self.notify(describe(exc).message, title="Nonconformance not opened", severity="error")
            return
        self.nc = nc
        self.refresh_bindings()
        result.update(self._found + f"\n[b]{plain(nc.code)} opened[/b] for {nc.quantity.normalize():f} part(s). "
                                    "Escape goes back.")
        self.notify(f"{nc.code} opened: {nc.description}", title="Nonconformance")

    def _refused(self, exc: ClientError) -> None:
        """A refusal under the field it names (results[i].values[j] → that part's field)."""
        words = describe(exc).message
        match = _FIELD.match(exc.field or "")
        if match and self.version is not None:
            i = int(match.group(1))
            if i < len(self.version.characteristics):
                self.query_one(f"#c{i}-error", FieldError).show(words)
                target = value_id(i, int(match.group(2))) if match.group(2) else self._order[0]
                self.query_one(f"#{target}").focus()
                return
        self.query_one("#insp-result", Static).update(f"[b]Not saved:[/b] {plain(words)}")

    def action_done(self) -> None:
        self.action_back()

    def action_chart(self) -> None:
        focused = self.focused
        found = self._characteristic_of(focused.id or "") if focused is not None else None
        if found is None or found[1].kind != "measured":
            self.notify("Go to a measured characteristic's field first.", title="Chart", severity="warning")
            return
        from tui.screens.inspection_spc import SpcScreen

        self.app.push_screen(SpcScreen(found[1].id, self.zone))
