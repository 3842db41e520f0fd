"""Jobs from the ERP: list them, and import a CSV/XLSX file read on this terminal (preview first)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from uuid import UUID

from factoryos.client.errors import ClientError
from factoryos.client.transport import Transport
from factoryos.jobs.limits import human_size
from factoryos.jobs.models import ImportLimits, JobImportOut, JobOut, JobPage

IMPORT_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


def read_job_file(path: str | Path, max_bytes: int | None = None) -> tuple[str, bytes]:
    """The file's name and bytes, or a ClientError (field `path`) saying why it cannot be sent."""
    text = str(path).strip()
    if not text:
        raise ClientError("path_required", "enter the path of a CSV or XLSX file", field="path")
    file = Path(text).expanduser()
    try:
        if not file.exists():
            raise ClientError("file_not_found", f"there is no file {file}", field="path")
        if not file.is_file():
            raise ClientError("not_a_file", f"{file} is not a file", field="path")
        size = file.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ClientError("file_too_large", f"{file.name} is {human_size(size)}; the server accepts job files "
                              f"up to {human_size(max_bytes)}: split it into smaller files", field="path")
        return file.name, file.read_bytes()
    except OSError as exc:
        raise ClientError("file_unreadable", f"cannot read {file}: {exc.strerror or exc}", field="path") from None


class JobsApi:
    t: Transport

    async def jobs(
        self, *, q: str | None = None, status: str | None = None, site_id: UUID | None = None,
        machine_id: UUID | None = None, cursor: str | None = None, limit: int = 100,
    ) -> JobPage:
        params = {"q": q or None, "status": status, "site_id": site_id, "machine_id": machine_id, "cursor": cursor,
                  "limit": limit}
        return await self.t.get("/jobs", JobPage, params=params)

    async def job(self, job_id: UUID) -> JobOut:
        return await self.t.get(f"/jobs/{job_id}", JobOut)

    async def job_import_limits(self) -> ImportLimits:
        return await self.t.get("/jobs/import/limits", ImportLimits)

    async def load_job_file(self, path: str | Path) -> tuple[str, bytes]:
        """Read a job file from this terminal (off the event loop), checked against the server's limit."""
        limits = await self.job_import_limits()
        return await asyncio.to_thread(read_job_file, path, limits.max_file_bytes)

    async def import_jobs(
        self, data: bytes, file_name: str, *, dry_run: bool = True, skip_invalid: bool = False,
        idempotency_key: str | None = None,
    ) -> JobImportOut:
        """Preview (`dry_run`) or import; a refused import raises ClientError `import_has_errors`
        with the per-row errors in `extra["errors"]`."""
        body = {"file_name": file_name, "content": base64.b64encode(data).decode(), "dry_run": dry_run,
                "skip_invalid": skip_invalid}
        try:
            return await self.t.send("POST", "/jobs/import", JobImportOut, json=body, idempotency_key=idempotency_key)
        except ClientError as exc:
            if exc.code == "body_too_large":
                raise ClientError("file_too_large", f"{file_name} ({human_size(len(data))}) is too large for this "
                                  f"server: {exc.detail}", field="path", status=413) from None
            raise
