"""A job import: decode, read, check, then either answer the preview or insert every valid row.

The insert runs in the caller's transaction as one statement batch: it all lands or none
does. With errors in the file nothing is imported unless the caller asks to skip the
invalid rows; a job number taken meanwhile by a concurrent import rolls the whole import back.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from uuid import UUID

from sqlalchemy import Connection

from factoryos.db.constraints import constraint_errors
from factoryos.errors import Conflict, ValidationFailed
from factoryos.jobs.checks import OperationsFor, check_rows
from factoryos.jobs.columns import ALIASES, REQUIRED, map_columns
from factoryos.jobs.limits import MAX_LISTED_ERRORS, MAX_ROWS, human_size, max_file_bytes
from factoryos.jobs.models import ColumnOut, ImportLimits, JobImportIn, JobImportOut
from factoryos.jobs.reader import read_sheet
from factoryos.jobs.store import insert_jobs, insert_operations


def limits(max_body_bytes: int) -> ImportLimits:
    return ImportLimits(
        max_file_bytes=max_file_bytes(max_body_bytes), max_body_bytes=max_body_bytes, max_rows=MAX_ROWS,
        formats=["csv", "xlsx"], required=list(REQUIRED),
        columns={f: sorted({f, *names}) for f, names in ALIASES.items()},
    )


def decode_content(content: str, max_body_bytes: int) -> bytes:
    largest = max_file_bytes(max_body_bytes)
    # Refuse before decoding: base64 text is 4/3 of the file.
    if len(content) // 4 * 3 > largest + 3:
        raise _too_large(len(content) // 4 * 3, largest, max_body_bytes)
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("content is not base64 text", code="invalid_base64", field="content") from None
    if len(data) > largest:
        raise _too_large(len(data), largest, max_body_bytes)
    return data


def _too_large(size: int, largest: int, body: int) -> ValidationFailed:
    return ValidationFailed(
        f"the file is {human_size(size)}; this server accepts job files up to {human_size(largest)} "
        f"(its request limit is {human_size(body)}, FACTORYOS_MAX_BODY_BYTES): split the file or ask your "
        "administrator to raise the limit",
        code="file_too_large", field="content", status=413,
        extra={"max_file_bytes": largest, "size": size},
    )


def run_import(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: JobImportIn,
               max_body_bytes: int, operations_for: OperationsFor) -> JobImportOut:
    sheet = read_sheet(decode_content(body.content, max_body_bytes), body.file_name)
    mapping = map_columns(sheet.header)
    checked = check_rows(conn, tenant_id, sheet, mapping, operations_for)
    invalid = checked.invalid_rows
    out = JobImportOut(
        dry_run=body.dry_run, import_id=None, file_name=body.file_name, format=sheet.format,
        delimiter=sheet.delimiter, header_row=sheet.header_row,
        columns=[ColumnOut(header=h, field=f) for h, f in zip(mapping.headers, mapping.fields, strict=True)],
        total_rows=len(checked.rows), valid_rows=len(checked.values), invalid_rows=invalid, imported=0,
        skipped=0, products_linked=checked.products_linked, rows=checked.rows,
        errors=checked.errors[:MAX_LISTED_ERRORS], error_count=len(checked.errors), job_numbers=[],
    )
    if body.dry_run:
        return out
    if invalid and not body.skip_invalid:
        raise ValidationFailed(
            f"{invalid} of {len(checked.rows)} rows {'has' if invalid == 1 else 'have'} errors: fix the file, or import the valid rows "
            "with skip_invalid",
            code="import_has_errors", field="content",
            extra={"errors": [e.model_dump(mode="json") for e in checked.errors[:MAX_LISTED_ERRORS]],
                   "error_count": len(checked.errors), "invalid_rows": invalid},
        )
    if not checked.values:
        raise ValidationFailed("the file has no valid job rows to import", code="nothing_to_import", field="content")
    import_id = uuid.uuid4()
    taken = Conflict("a job number of this file was created meanwhile: preview the file again",
                     code="job_exists", field="job_number")
    with constraint_errors(conn, {"uq_jobs_tenant_job_number": taken}):
        ids = insert_jobs(conn, tenant_id, checked.values, import_id=import_id, created_by=user_id)
    insert_operations(conn, tenant_id, [
        {**op, "job_id": job_id, "status": value["status"]}
        for job_id, value, ops in zip(ids, checked.values, checked.operations, strict=True) for op in ops])
    out = out.model_copy(update={"import_id": import_id, "imported": len(ids), "skipped": invalid,
                                 "job_numbers": [v["job_number"] for v in checked.values]})
    return out
