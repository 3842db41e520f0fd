"""The job file of this wizard session: its bytes stay on the terminal until the import."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from factoryos.jobs.models import JobImportOut


@dataclass
class Upload:
    file_name: str
    data: bytes
    preview: JobImportOut
    imported: JobImportOut | None = None
    # One key per loaded file: pressing Import twice (or a retry after a timeout) imports once.
    idempotency_key: str = field(default_factory=lambda: f"job-import-{uuid.uuid4().hex}")
