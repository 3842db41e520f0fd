"""Step 1, Connect ERP: a CSV/XLSX export on this terminal, uploaded for a preview with per-row errors."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from factoryos.client import ClientError
from tui.errors import describe
from tui.widgets.job_preview import JobPreview
from tui.widgets.wizard.base import WizardPane
from tui.widgets.wizard.upload import Upload


class ConnectErpPane(WizardPane):
    step = "connect_erp"
    FIRST_FOCUS = "#erp-path"
    HELP = """\
**Connect ERP**: export the open jobs (production orders) from your ERP as **CSV** (UTF-8,
`,` or `;`) or **XLSX**. The first row names the columns: **Job**, **Product**, **Qty** and
**Due** are needed; **Customer**, **Site**, **Machine**, **Status** and **Notes** are optional.
Type the file's path on this terminal and press **Enter**: nothing is imported yet, the
preview shows each row and what is wrong with it. **F4** goes on to the import.
"""

    def compose(self) -> ComposeResult:
        yield Static("Export the open jobs from your ERP as CSV or XLSX with a header row: Job, Product, Qty, "
                     "Due; optional Customer, Site, Machine, Status, Notes. ? explains more.", classes="wizard-intro")
        with Horizontal(classes="form-row"):
            yield Label("File", classes="form-label")
            yield Input(placeholder="path on this terminal, e.g. ~/exports/jobs.csv", id="erp-path")
            yield Button("Preview", variant="primary", id="erp-preview")
        yield Static("", id="erp-message")
        yield JobPreview(id="erp-table")

    def activate(self) -> None:
        upload = self.wizard.upload
        if upload is not None:
            self.query_one(JobPreview).show(upload.preview)

    @on(Input.Submitted, "#erp-path")
    @on(Button.Pressed, "#erp-preview")
    def _preview(self) -> None:
        self._say("Reading the file…", "info")
        self.preview(self.query_one("#erp-path", Input).value)

    def _say(self, text: str, kind: str) -> None:
        message = self.query_one("#erp-message", Static)
        message.update(text)
        message.set_classes(f"message-{kind}")

    @work(exclusive=True, group="erp-preview", exit_on_error=False)
    async def preview(self, path: str) -> None:
        try:
            name, data = await self.api.load_job_file(path)
            result = await self.api.import_jobs(data, name, dry_run=True)
        except ClientError as exc:
            problem = describe(exc)
            self._say(problem.message, "error")
            self.app.notify(problem.message, title="File not read", severity="error")
            return
        self.wizard.upload = Upload(name, data, result)
        if result.invalid_rows:
            self._say("Rows with errors: fix them in the file and preview again, or go on (F4) and skip "
                      "them.", "error")
        else:
            self._say("Every row is fine. Nothing is imported yet: F4 goes on to the import.", "ok")
        self.query_one(JobPreview).show(result)

    def blocker(self) -> str | None:
        if self.wizard.upload is None:
            return "Preview a job file first (type its path and press Enter), or skip this step with F3."
        return None

    def step_data(self) -> dict[str, Any]:
        upload = self.wizard.upload
        if upload is None:
            return {}
        p = upload.preview
        return {"file_name": p.file_name, "rows": p.total_rows, "valid": p.valid_rows, "invalid": p.invalid_rows}
