"""`factoryos serve --workers N`: uvicorn's worker processes, each with its own app.

The parent (`cli/serve.py`) starts the embedded PostgreSQL once, then hands every worker
the database through the environment. Python work is bound to one core per process by
the GIL, so N processes use N cores. Of the workers, the one that takes the duty lock in
the data directory polls machines and runs scheduled backups; if it dies, uvicorn starts
a replacement, which takes the lock over.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from factoryos.config import Settings
from factoryos.logs import configure as configure_logs
from factoryos.process_lock import ProcessLock

# Set by the parent for its workers only (internal: not settings a user writes).
BACKUP_URL_ENV = "FACTORYOS_INTERNAL_BACKUP_URL"
DUTY_LOCK = "server-duties.lock"


def duty_lock(settings: Settings) -> ProcessLock:
    return ProcessLock(Path(settings.data_dir) / DUTY_LOCK)


def worker_app() -> Starlette:
    """uvicorn's app factory in each worker process."""
    from server.app import create_app

    settings = Settings()
    configure_logs(settings.log_level, settings.log_format)
    if settings.database_url is None:
        raise RuntimeError("a server worker needs FACTORYOS_DATABASE_URL (set by `factoryos serve`)")
    return create_app(settings, settings.database_url, poller=settings.poller,
                      backup_url=os.environ.get(BACKUP_URL_ENV) or None, duties=duty_lock(settings))
