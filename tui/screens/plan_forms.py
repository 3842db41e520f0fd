"""Small forms of the planning screen: a shift pattern, and a machine's target for a shift.

Each form saves itself (the screen passes how): a refused value keeps the dialog open with the
server's reason under the field it names, so nothing typed is lost.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, SelectionList, Static

from factoryos.client import ClientError, SessionEnded
from tui.errors import describe
from tui.widgets.dialog_buttons import save_cancel
from tui.widgets.field_error import FieldError
from tui.widgets.tick_list import TickList
from tui.worker_errors import ShowsWorkerErrors

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Save = Callable[[dict[str, Any]], Awaitable[object]]


def _row(label: str, field: Any) -> Horizontal:
    return Horizontal(Label(label, classes="form-label"), field, classes="form-row")


class SavingForm(ShowsWorkerErrors, ModalScreen[dict[str, Any] | None]):
    """Sends its body with `save` and closes only when the server took it."""

    FIELDS: dict[str, str] = {}  # the server's field name → the id of the input it names

    def __init__(self, save: Save | None = None) -> None:
        super().__init__()
        self._saver = save

    def submit(self, body: dict[str, Any]) -> None:
        if self._saver is None:
            self.dismiss(body)
            return
        self._clear_errors()
        self._send(body)

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _send(self, body: dict[str, Any]) -> None:
        assert self._saver is not None
        try:
            await self._saver(body)
        except SessionEnded:
            raise
        except ClientError as exc:
            if exc.transient:
                raise  # the app says the server is unreachable; what was typed stays here
            self._refused(exc)
            return
        self.dismiss(body)

    def _refused(self, exc: ClientError) -> None:
        # A field inside a list (`machine_ids[2]`, `items[0].name`) is said at the list.
        field_id = self.FIELDS.get(re.split(r"[.\[]", exc.field or "")[0])
        text = describe(exc).message
        if field_id is None:
            self.query_one("#form-error", FieldError).show(text)
            return
        self.say_at(field_id, text)

    def say_at(self, field_id: str, text: str) -> None:
        """`text` under the field (`#<field_id>-error`), the field marked and focused."""
        self.query_one(f"#{field_id}-error", FieldError).show(text)
        field = self.query_one(f"#{field_id}")
        field.add_class("-invalid")
        field.focus()

    def _clear_errors(self) -> None:
        for line in self.query(FieldError):
            line.clear()
        for field in self.query(".-invalid"):
            field.remove_class("-invalid")


class ShiftForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Local wall times `HH:MM`; an end at or before the start crosses midnight. **Space** ticks weekdays."
    FIELDS = {"name": "s-name", "start": "s-start", "end": "s-end", "weekdays": "s-days"}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New shift pattern", classes="dialog-title")
            yield _row("Name", Input(placeholder="e.g. Early", id="s-name"))
            yield FieldError(id="s-name-error")
            # Start and end on one row: with the weekdays and the buttons the form fits 80×24.
            yield Horizontal(Label("Start", classes="form-label"), Input(placeholder="06:00", max_length=5, id="s-start"),
                             Label("End", classes="form-label short"),
                             Input(placeholder="14:00", max_length=5, id="s-end"), classes="form-row")
            yield FieldError(id="s-start-error")
            yield FieldError(id="s-end-error")
            yield TickList[int](*((d, i, i < 5) for i, d in enumerate(WEEKDAYS)), id="s-days")
            yield FieldError(id="s-days-error")
            yield FieldError(id="form-error")
            yield save_cancel()
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        days = sorted(self.query_one("#s-days", SelectionList).selected)
        self.submit({"name": self.query_one("#s-name", Input).value.strip(),
                     "start": self.query_one("#s-start", Input).value.strip(),
                     "end": self.query_one("#s-end", Input).value.strip(), "weekdays": days})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TargetForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Type the target quantity for this machine and shift and press **Enter** (or **Ctrl+S**)."
    FIELDS = {"target_quantity": "t-target", "job_ref": "t-job"}

    def __init__(self, title: str, target: int | None, job: str | None, save: Save | None = None) -> None:
        super().__init__(save)
        self.title_text, self.target, self.job = title, target, job

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield _row("Target", Input(str(self.target or ""), restrict=r"[0-9]*", max_length=9, id="t-target"))
            yield FieldError(id="t-target-error")
            yield _row("Job", Input(self.job or "", placeholder="optional", max_length=120, id="t-job"))
            yield FieldError(id="t-job-error")
            yield FieldError(id="form-error")
            yield save_cancel()
        yield Footer()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        target = self.query_one("#t-target", Input).value.strip()
        if not target:
            self.query_one("#t-target-error", FieldError).show("Enter a target quantity.")
            return
        job = self.query_one("#t-job", Input).value.strip()
        self.submit({"target_quantity": int(target), "job_ref": job or None})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class OperatorsForm(SavingForm):
    """Who works a machine in one shift: the site's operators, ticked with Space."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Tick the operators of this machine and shift with **Space**, then **Ctrl+S** saves."
    FIELDS = {"operator_ids": "o-list", "target_quantity": "o-list"}
    DEFAULT_CSS = "SelectionList#o-list { height: auto; max-height: 12; }"

    def __init__(self, title: str, operators: list[tuple[str, str]], chosen: set[str], save: Save | None = None) -> None:
        super().__init__(save)
        self.title_text, self.operators, self.chosen = title, operators, chosen

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            if self.operators:
                yield TickList[str](*((Content(name), uid, uid in self.chosen) for name, uid in self.operators),
                                    id="o-list")
            else:
                yield Static("This site has no operators yet: an administrator adds them to the site.", id="o-list")
            yield FieldError(id="o-list-error")
            yield FieldError(id="form-error")
            yield save_cancel()
        yield Footer()

    def _refused(self, exc: ClientError) -> None:
        if exc.code == "not_a_site_operator":  # named, not by their ids
            names = [name for name, uid in self.operators if uid in exc.detail] or ["Someone ticked"]
            line = self.query_one("#o-list-error", FieldError)
            line.show(f"{', '.join(names)}: no longer an operator of this site. Untick, or ask an administrator.")
            self.query_one("#o-list").focus()
            return
        super()._refused(exc)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        chosen = sorted(self.query_one("#o-list", SelectionList).selected) if self.operators else []
        self.submit({"operator_ids": chosen})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
