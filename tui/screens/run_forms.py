"""The two questions the machine's run screen asks: what to do with the operation running
when another starts, and the final quantities when one completes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from factoryos.orders.run_models import MAX_COUNT
from tui.widgets.entry_forms import letters_in
from tui.widgets.field_error import FieldError


class CurrentRunChoice(ModalScreen[str | None]):
    """"Pause or complete <order>?": answers "pause", "complete" or None (keep it running).

    The same keys as at the machine (F4 pause, F5 complete), never letters, and Cancel has the
    focus: a label scanned while this is open types letters and Enter, which must not end a run.
    """

    BINDINGS = [
        Binding("f4", "choose('pause')", "Pause it", id="pause"),
        Binding("f5", "choose('complete')", "Complete it", id="complete"),
        Binding("escape", "choose('')", "Cancel", id="cancel"),
    ]
    HELP = ("Another operation runs on this machine. **F4** pauses it (it stays in the queue), **F5** completes it "
            "with the parts counted so far; **Escape** keeps it running.")
    AUTO_FOCUS = "#cancel"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title", id="current-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Pause it (F4)", variant="warning", id="pause")
                yield Button("Complete it (F5)", variant="success", id="complete")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "cancel" else event.button.id or "")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)


class CompleteForm(ModalScreen[dict[str, int] | None]):
    """The final good and scrap of the operation, prefilled with what was counted so far.

    Both are always sent: the operator confirms the figures shown, and a minute bucket the
    machine sends after the operation ended can no longer change them.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Complete", id="save")]
    HELP = "Check the **good** and **scrap** counts, correct them if the count is off, and press **Enter**."
    DEFAULT_CSS = "CompleteForm .form-row Input { width: 16; }"

    def __init__(self, title: str, good: int, scrap: int) -> None:
        super().__init__()
        self.title_text, self.good, self.scrap = title, good, scrap

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            with Horizontal(classes="form-row"):
                yield Label("Good", classes="form-label")
                yield Input(str(self.good), max_length=9, id="final-good")
            yield FieldError(id="final-good-error")
            with Horizontal(classes="form-row"):
                yield Label("Scrap", classes="form-label")
                yield Input(str(self.scrap), max_length=9, id="final-scrap")
            yield FieldError(id="final-scrap-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Complete (Enter)", variant="success", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Input.Submitted, "#final-good")
    def _to_scrap(self) -> None:
        self.query_one("#final-scrap", Input).focus()

    @on(Input.Submitted, "#final-scrap")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        values: dict[str, int] = {}
        for name in ("good", "scrap"):
            field = self.query_one(f"#final-{name}", Input)
            error = self.query_one(f"#final-{name}-error", FieldError)
            wrong = count_problem(field.value)
            if wrong:
                error.show(wrong)
                field.add_class("-invalid")
                field.focus()
                return
            error.clear()
            field.remove_class("-invalid")
            values[f"final_{name}"] = int(field.value)
        self.dismiss(values)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def count_problem(text: str) -> str | None:
    """Why `text` is not a final count, said while the form is open (the server's refusal of a
    count it cannot take would come after the form closed, in its own words)."""
    if not text.strip():
        return "Enter a number (0 if none)."
    wrong = letters_in(text)
    if wrong is None and int(text) > MAX_COUNT:
        wrong = f"At most {MAX_COUNT} parts: check the count."
    return wrong
