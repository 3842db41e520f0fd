"""The three operator forms: good parts, scrap with a reason, a reason for open downtime.

Each form checks its own fields and posts `EntryForm.Submitted` with the part of the
request it owns; the operator screen adds the machine and shift and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.dom import DOMNode
from textual.widgets import Button, Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from factoryos.client.models import DowntimeOut
from tui.widgets.field_error import FieldError

# The line under each field's row where a refusal of that field is shown.
ERROR_LINE: dict[str, str] = {
    "shift-select": "shift-error", "machine-code": "machine-error",
    "good-qty": "good-error", "job-ref": "good-error",
    "scrap-qty": "scrap-qty-error", "scrap-reason": "scrap-reason-error",
    "downtime-list": "downtime-reason-error", "downtime-reason": "downtime-reason-error",
}


def refuse(root: DOMNode, field_id: str, text: str, *, focus: bool = True) -> None:
    """Show `text` under the field `field_id` (within `root`) and mark the field."""
    root.query_one(f"#{ERROR_LINE[field_id]}", FieldError).show(text)
    field = root.query_one(f"#{field_id}")
    field.add_class("-invalid")
    if focus:
        field.focus()


def clear_refusals(root: DOMNode, *field_ids: str) -> None:
    """Hide the refusals of `field_ids` (all when none are named)."""
    for field_id in field_ids or tuple(ERROR_LINE):
        for field in root.query(f"#{field_id}"):
            field.remove_class("-invalid")
        for line in root.query(f"#{ERROR_LINE[field_id]}").results(FieldError):
            line.clear()


def letters_in(text: str) -> str | None:
    """Why `text` is not a whole number of parts (a scanner or a slip can add letters)."""
    value = text.strip()
    if value and not value.isdecimal():  # isdigit() takes "²", which int() refuses
        return f"Only digits: {value!r} has other characters in it."
    return None


class EntryForm(Vertical):
    @dataclass
    class Submitted(Message):
        kind: str  # "good", "scrap" or "reason"
        fields: dict[str, Any]

    def focus_first(self) -> None:
        target = next(iter(self.query("Input, OptionList, Select")), None)
        if target is not None:
            target.focus()

    def _quantity(self, selector: str) -> int | None:
        field = self.query_one(selector, Input)
        field_id = selector.removeprefix("#")
        wrong = letters_in(field.value)
        if wrong:
            refuse(self, field_id, wrong)
            return None
        if not field.value.strip() or int(field.value) <= 0:
            refuse(self, field_id, "Enter a quantity above zero.")
            return None
        return int(field.value)

    @on(Input.Changed, ".quantity")
    def _check_digits(self, event: Input.Changed) -> None:
        # Letters stay visible and are named at once, never dropped silently ("12a5" is not 125).
        wrong = letters_in(event.value)
        if wrong:
            refuse(self, event.input.id or "", wrong, focus=False)
        else:
            clear_refusals(self, event.input.id or "")

    def reset(self) -> None:
        for field in self.query(Input):
            field.value = ""
        clear_refusals(self, *(i for i in ERROR_LINE if self.query(f"#{i}")))
        self.focus_first()


class GoodPartsForm(EntryForm):
    HELP = "Type the number of **good parts** made since the last entry and press **Enter**."

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Good", classes="form-label")
            yield Input(placeholder="quantity", max_length=9, id="good-qty", classes="quantity")
            yield Label("Job", classes="form-label short")
            yield Input(placeholder="optional", max_length=120, id="job-ref")
        yield FieldError(id="good-error")
        yield Button("Save good parts", variant="success", id="save-good", classes="wide")

    @on(Input.Submitted, "#good-qty")
    @on(Input.Submitted, "#job-ref")
    @on(Button.Pressed, "#save-good")
    def _submit(self) -> None:
        quantity = self._quantity("#good-qty")
        if quantity is None:
            return
        job = self.query_one("#job-ref", Input).value.strip()
        self.post_message(self.Submitted("good", {"good_quantity": quantity, **({"job_ref": job} if job else {})}))


class ScrapForm(EntryForm):
    HELP = "Type the number of **scrapped parts**, pick the reason (type to search) and press **Save**."

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Scrap", classes="form-label")
            yield Input(placeholder="quantity", max_length=9, id="scrap-qty", classes="quantity")
        yield FieldError(id="scrap-qty-error")
        with Horizontal(classes="form-row"):
            yield Label("Reason", classes="form-label")
            yield Select[UUID]([], prompt="choose a quality reason", id="scrap-reason")
        yield FieldError(id="scrap-reason-error")
        yield Button("Save scrap", variant="warning", id="save-scrap", classes="wide")

    def set_reasons(self, choices: list[tuple[str, UUID]]) -> None:
        self.query_one("#scrap-reason", Select).set_options(choices)

    @on(Input.Submitted, "#scrap-qty")
    def _to_reason(self) -> None:
        self.query_one("#scrap-reason", Select).focus()

    @on(Select.Changed, "#scrap-reason")
    def _to_save(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            clear_refusals(self, "scrap-reason")
        if event.value is not Select.NULL and self.query_one("#scrap-reason", Select).has_focus:
            self.query_one("#save-scrap", Button).focus()

    @on(Button.Pressed, "#save-scrap")
    def _submit(self) -> None:
        quantity = self._quantity("#scrap-qty")
        if quantity is None:
            return
        reason = self.query_one("#scrap-reason", Select).value
        if reason is Select.NULL:
            refuse(self, "scrap-reason", "Choose why the parts were scrapped.")
            return
        self.post_message(self.Submitted("scrap", {"quantity": quantity, "reason_id": str(reason)}))

    def reset(self) -> None:
        super().reset()
        self.query_one("#scrap-reason", Select).clear()
        self.query_one("#scrap-qty", Input).focus()


class DowntimeForm(EntryForm):
    HELP = ("Pick a **stop waiting for a reason** with the arrow keys, press **Enter**, "
            "choose the reason and **Assign**.")

    def compose(self) -> ComposeResult:
        yield OptionList(id="downtime-list")
        with Horizontal(classes="form-row"):
            yield Label("Reason", classes="form-label")
            yield Select[UUID]([], prompt="choose a downtime reason", id="downtime-reason")
        yield FieldError(id="downtime-reason-error")
        yield Button("Assign reason", variant="primary", id="assign-reason", classes="wide")

    def set_reasons(self, choices: list[tuple[str, UUID]]) -> None:
        self.query_one("#downtime-reason", Select).set_options(choices)

    def show_events(self, events: list[DowntimeOut], code_of: dict[UUID, str], zone: ZoneInfo | None) -> None:
        listing = self.query_one("#downtime-list", OptionList)
        listing.clear_options()
        now = datetime.now(UTC)
        for event in events:
            label = _event_label(event, code_of.get(event.machine_id, "?"), now, zone)
            listing.add_option(Option(label, id=str(event.id)))
        if not events:
            listing.add_option(Option("No stops are waiting for a reason.", disabled=True))
        else:
            listing.highlighted = 0

    @on(OptionList.OptionSelected, "#downtime-list")
    def _to_reason(self) -> None:
        clear_refusals(self, "downtime-list")
        self.query_one("#downtime-reason", Select).focus()

    @on(Select.Changed, "#downtime-reason")
    def _to_assign(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            clear_refusals(self, "downtime-reason")
        if event.value is not Select.NULL and self.query_one("#downtime-reason", Select).has_focus:
            self.query_one("#assign-reason", Button).focus()

    @on(Button.Pressed, "#assign-reason")
    def _submit(self) -> None:
        listing = self.query_one("#downtime-list", OptionList)
        option = listing.highlighted_option
        if option is None or option.id is None:
            refuse(self, "downtime-list", "No stop is selected: pick one in the list.")
            return
        reason = self.query_one("#downtime-reason", Select).value
        if reason is Select.NULL:
            refuse(self, "downtime-reason", "Choose why the machine stopped.")
            return
        self.post_message(self.Submitted("reason", {"event_id": option.id, "reason_id": str(reason)}))

    def reset(self) -> None:
        self.query_one("#downtime-reason", Select).clear()
        clear_refusals(self, "downtime-list", "downtime-reason")
        self.query_one("#downtime-list", OptionList).focus()


def _event_label(event: DowntimeOut, code: str, now: datetime, zone: ZoneInfo | None) -> str:
    start = event.started_at.astimezone(zone)
    seconds = max(0, int(((event.ended_at or now) - event.started_at).total_seconds()))
    took = f"{seconds} s" if seconds < 60 else f"{seconds // 60} min"  # never "0 min" for a short stop
    state = f"down {took} so far" if event.ended_at is None else f"stopped {took}"
    return f"{code}  {start:%H:%M}  {state}  ({event.source})"
