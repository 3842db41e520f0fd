"""What the server read from a job file: a summary line, the rows, and each row's problems."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from factoryos.jobs.models import JobImportOut, RowError

FIELD_LABELS = {"job_number": "Job", "product": "Product", "quantity": "Qty", "due_date": "Due",
                "customer": "Customer", "site_code": "Site", "machine_code": "Machine", "status": "Status",
                "notes": "Notes"}


def summary(p: JobImportOut) -> str:
    kind = "XLSX" if p.format == "xlsx" else f"CSV with {'tabs' if p.delimiter == chr(9) else repr(p.delimiter)}"
    errors = f", [$error]{p.invalid_rows} with errors[/]" if p.invalid_rows else ", no errors"
    return f"[b]{p.file_name}[/] · {kind} · {p.total_rows} rows: [$success]{p.valid_rows} valid[/]{errors}"


def fill_errors(table: DataTable, errors: list[RowError], total: int) -> None:
    table.clear()
    for e in errors:
        table.add_row(str(e.row), e.column or FIELD_LABELS.get(e.field, e.field), e.message)
    if total > len(errors):
        table.add_row("…", "", f"{total - len(errors)} more problems not listed")


class JobPreview(Vertical):
    DEFAULT_CSS = """
    JobPreview { height: 1fr; }
    JobPreview .preview-summary { height: 1; padding: 0 1; }
    JobPreview .preview-rows { height: 1fr; }
    JobPreview .preview-errors { height: auto; max-height: 6; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", classes="preview-summary")
        rows = DataTable(classes="preview-rows", cursor_type="row", zebra_stripes=True)
        rows.add_columns("Row", "", "Job", "Product", "Qty", "Due", "Machine", "Customer")
        yield rows
        errors = DataTable(classes="preview-errors", cursor_type="row")
        errors.add_columns("Row", "Column", "Problem")
        yield errors

    def on_mount(self) -> None:
        self.display = False

    def show(self, p: JobImportOut) -> None:
        self.display = True
        self.query_one(".preview-summary", Static).update(summary(p))
        rows = self.query_one(".preview-rows", DataTable)
        rows.clear()
        for r in p.rows:
            rows.add_row(str(r.row), "✓" if r.valid else "✗", r.job_number or "", r.product or "",
                         "" if r.quantity is None else str(r.quantity), r.due_date.isoformat() if r.due_date else "",
                         r.machine_code or "", r.customer or "", key=str(r.row))
        errors = self.query_one(".preview-errors", DataTable)
        fill_errors(errors, p.errors, p.error_count)
        errors.display = bool(p.errors)
