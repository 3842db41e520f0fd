"""Request and response shapes of jobs and job imports (also what the typed client reads)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.listing import ListQuery

JobStatus = Literal["planned", "released", "running", "paused", "completed", "cancelled"]


class JobOut(BaseModel):
    id: UUID
    job_number: str
    product: str
    product_id: UUID | None = Field(description="The product record the order makes (its routing gave the operations).")
    quantity: int
    due_date: date
    customer: str | None
    site_id: UUID | None
    site_code: str | None
    machine_id: UUID | None
    machine_code: str | None
    status: JobStatus
    notes: str | None
    import_id: UUID | None = Field(description="The import that created the job (its audit entity id).")
    created_at: datetime
    created_by: UUID | None


class JobQuery(ListQuery):
    status: JobStatus | None = None
    site_id: UUID | None = None
    machine_id: UUID | None = None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class JobImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_name: str = Field(min_length=1, max_length=255, description="The file's name; `.xlsx` or CSV text.")
    content: str = Field(description="The file's bytes, base64-encoded (see /jobs/import/limits for the size).")
    dry_run: bool = Field(True, description="Only parse and check: the preview. False imports.")
    skip_invalid: bool = Field(False, description="Import the valid rows even when others have errors.")


class RowError(BaseModel):
    row: int = Field(description="Row number in the file (the header is usually row 1).")
    field: str = Field(description="The job field: job_number, product, quantity, due_date, site_code, …")
    column: str | None = Field(description="The file's header for that field, as written.")
    code: str
    message: str


class ImportRow(BaseModel):
    row: int
    valid: bool
    job_number: str | None
    product: str | None
    quantity: int | None
    due_date: date | None
    customer: str | None
    site_code: str | None
    machine_code: str | None
    status: JobStatus | None
    notes: str | None


class ColumnOut(BaseModel):
    header: str
    field: str | None = Field(description="The job field the column fills; null when ignored.")


class ImportOutcome(BaseModel):
    """What every file import answers (jobs, products, routings): the preview or the result."""

    dry_run: bool
    import_id: UUID | None = Field(description="Set when the file was imported.")
    file_name: str
    format: Literal["csv", "xlsx"]
    delimiter: str | None
    header_row: int
    columns: list[ColumnOut]
    total_rows: int
    valid_rows: int
    invalid_rows: int
    skipped: int = Field(description="Invalid rows left out (an import with skip_invalid).")
    errors: list[RowError] = Field(description="At most 1000 are listed; `error_count` has them all.")
    error_count: int


class JobImportOut(ImportOutcome):
    imported: int
    products_linked: int = Field(0, description="Valid rows whose product is a product's number: they get its routing.")
    rows: list[ImportRow]
    job_numbers: list[str] = Field(description="The imported job numbers.")


class ImportLimits(BaseModel):
    max_file_bytes: int = Field(description="Largest file this server accepts (its body limit, base64 allowed for).")
    max_body_bytes: int
    max_rows: int
    formats: list[str]
    required: list[str]
    columns: dict[str, list[str]] = Field(description="Per job field, the header names accepted (any case).")
