"""Step 2, Import Jobs: import the previewed file in one go; invalid rows only by explicit choice."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, DataTable, Static

from factoryos.client import ClientError
from factoryos.jobs.models import JobImportOut, RowError
from tui.errors import describe
from tui.widgets.job_preview import fill_errors, summary
from tui.widgets.tick_list import TickBox
from tui.widgets.wizard.base import WizardPane


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


class ImportJobsPane(WizardPane):
    step = "import_jobs"
    FIRST_FOCUS = "#import-run"
    HELP = """\
**Import Jobs**: imports every row of the previewed file in one go: all of them or none.
When rows have errors, nothing is imported unless you tick **Skip the rows with errors**
(Space) — then only the valid rows are. To fix the file instead, correct it and preview it
again in the previous step (**F2**).
"""

    def compose(self) -> ComposeResult:
        yield Static("", id="import-summary", classes="wizard-note")
        yield TickBox("Skip the rows with errors", id="import-skip")
        yield Button("Import", variant="primary", id="import-run")
        yield Static("", id="import-result")
        errors = DataTable(id="import-errors", cursor_type="row")
        errors.add_columns("Row", "Column", "Problem")
        yield errors

    def activate(self) -> None:
        upload = self.wizard.upload
        skip = self.query_one("#import-skip", Checkbox)
        run = self.query_one("#import-run", Button)
        errors = self.query_one("#import-errors", DataTable)
        if upload is None:
            state = self.wizard.state
            done = state.step(self.step).data if state is not None and self.already_done() else None
            last = state.step("connect_erp").data.get("file_name") if state is not None else None
            if done is not None:
                text = (f"Imported {done.get('imported', 0)} jobs from {done.get('file_name', 'a file')} earlier. "
                        "To import another file, preview it in the previous step (F2); F4 goes on.")
            else:
                text = ("No job file is loaded in this session" + (f" (last time: {last})" if last else "")
                        + ": preview it in the previous step (F2), or skip this step with F3.")
            self.query_one("#import-summary", Static).update(text)
            skip.display = run.display = errors.display = False
            return
        p = upload.preview
        self.query_one("#import-summary", Static).update(summary(p))
        skip.display = p.invalid_rows > 0
        skip.label = f"Skip the {_rows(p.invalid_rows)} with errors and import the other {p.valid_rows}"
        errors.display = bool(p.errors)
        fill_errors(errors, p.errors, p.error_count)
        run.display = True
        self._label_button()
        if upload.imported is not None:
            self._show_result(upload.imported)

    @on(Checkbox.Changed, "#import-skip")
    def _label_button(self) -> None:
        upload = self.wizard.upload
        if upload is None:
            return
        p = upload.preview
        count = p.valid_rows if (p.invalid_rows == 0 or self.query_one("#import-skip", Checkbox).value) else 0
        run = self.query_one("#import-run", Button)
        run.label = f"Import {count} jobs" if count else "Import"
        run.disabled = upload.imported is not None

    @on(Button.Pressed, "#import-run")
    def _run(self) -> None:
        upload = self.wizard.upload
        if upload is None or upload.imported is not None:
            return
        p = upload.preview
        skip = self.query_one("#import-skip", Checkbox).value
        if p.invalid_rows and not skip:
            self.app.notify(f"{_rows(p.invalid_rows).capitalize()} of {p.file_name} {'has' if p.invalid_rows == 1 else 'have'} errors: tick “Skip the rows "
                            f"with errors” to import the other {p.valid_rows}, or fix the file and preview it again.",
                            title="Not imported", severity="warning")
            return
        self.run_import(skip)

    @work(exclusive=True, group="job-import", exit_on_error=False)
    async def run_import(self, skip: bool) -> None:
        upload = self.wizard.upload
        assert upload is not None
        try:
            result = await self.api.import_jobs(upload.data, upload.file_name, dry_run=False, skip_invalid=skip,
                                                idempotency_key=upload.idempotency_key)
        except ClientError as exc:
            if exc.code == "import_has_errors":  # the company's data changed since the preview
                errors = [RowError.model_validate(e) for e in exc.extra.get("errors", [])]
                fill_errors(self.query_one("#import-errors", DataTable), errors, len(errors))
                self.query_one("#import-errors", DataTable).display = True
            self.app.notify(describe(exc).message, title="Not imported", severity="error")
            return
        upload.imported = result
        self._show_result(result)
        self._label_button()
        skipped = f", skipped {_rows(result.skipped)} with errors" if result.skipped else ""
        self.app.notify(f"Imported {result.imported} jobs from {result.file_name}{skipped}.", title="Jobs imported")
        await self.wizard.save_step(self.step, "done", self.step_data(), stay=True)

    def _show_result(self, result: JobImportOut) -> None:
        skipped = f" ({_rows(result.skipped)} with errors skipped)" if result.skipped else ""
        self.query_one("#import-result", Static).update(
            f"[$success][b]Imported {result.imported} jobs[/b][/] from {result.file_name}{skipped}. "
            "Press F4 for the next step.")

    def focus_first(self) -> None:
        skip = self.query_one("#import-skip", Checkbox)
        if skip.display and not skip.value:
            skip.focus()
        else:
            super().focus_first()

    def blocker(self) -> str | None:
        upload = self.wizard.upload
        if (upload is not None and upload.imported is not None) or self.already_done():
            return None
        return "Import the jobs first (Import button), or skip this step with F3."

    def step_data(self) -> dict[str, Any]:
        upload = self.wizard.upload
        if upload is None or upload.imported is None:
            return self.wizard.state.step(self.step).data if self.wizard.state else {}
        r = upload.imported
        return {"file_name": r.file_name, "imported": r.imported, "skipped": r.skipped}
