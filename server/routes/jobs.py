"""Jobs: production orders from the ERP, imported from CSV or XLSX with a preview first."""

from __future__ import annotations

from uuid import UUID

from factoryos.jobs.importer import limits, run_import
from factoryos.jobs.models import ImportLimits, JobImportIn, JobImportOut, JobOut, JobPage, JobQuery
from factoryos.jobs.store import get_job, list_jobs
from factoryos.orders.routings import operations_for_order
from server.api import Context, Router

router = Router(prefix="/api/v1/jobs", tags=("jobs",))

VIEW = "orders.view"
ACT = "orders.act"


@router.get("", permission=VIEW, query=JobQuery, response=JobPage)
def list_jobs_route(ctx: Context, query: JobQuery) -> JobPage:
    """Jobs by due date, filtered by status, site or machine; `q` searches number, product, customer."""
    return list_jobs(ctx.conn, ctx.tenant_id, query)


@router.get("/{job_id:uuid}", permission=VIEW, response=JobOut)
def get_job_route(ctx: Context, job_id: UUID) -> JobOut:
    """One job."""
    return get_job(ctx.conn, ctx.tenant_id, job_id)


@router.get("/import/limits", permission=ACT, response=ImportLimits)
def job_import_limits(ctx: Context) -> ImportLimits:
    """How large an import file may be, and the column names it may use."""
    return limits(ctx.settings.max_body_bytes)


@router.post("/import", permission=ACT, body=JobImportIn, response=JobImportOut, long_running=True)
def import_jobs(ctx: Context, body: JobImportIn) -> JobImportOut:
    """Preview (`dry_run`, the default) or import a CSV/XLSX file of jobs; the import is all or nothing."""
    out = run_import(ctx.conn, ctx.tenant_id, ctx.user_id, body, ctx.settings.max_body_bytes, operations_for_order)
    if not out.dry_run:
        ctx.audit("create", "job_import", out.import_id, after={
            "file_name": out.file_name, "format": out.format, "imported": out.imported, "skipped": out.skipped,
            "total_rows": out.total_rows, "job_numbers": out.job_numbers,
        })
    return out
