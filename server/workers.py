"""`factoryos serve --workers N`: uvicorn's worker processes, each with its own app.

The parent (`cli/serve.py`) starts the embedded PostgreSQL once, then hands every worker
the database through the environment. Python work is bound to one core per process by
the GIL, so N processes use N cores. The installation's duties (polling machines, scheduled
backups, webhooks, MQTT publishing, due maintenance orders) run in the one process holding the duty lock in
PostgreSQL (`factoryos.duties`), whichever host it is on; of the workers sharing a data
directory only the one holding the file lock there competes for it. If that worker dies,
uvicorn starts a replacement, which takes the file lock over and competes in its place.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from factoryos.config import Settings
from factoryos.duties import DutyLock
from factoryos.logs import configure as configure_logs
from factoryos.process_lock import ProcessLock
from server.duties import DutyClaim

# Set by the parent for its workers only (internal: not settings a user writes).
BACKUP_URL_ENV = "FACTORYOS_INTERNAL_BACKUP_URL"
DUTY_LOCK = "server-duties.lock"


def duty_claim(settings: Settings, database_url: str, *, workers: bool = False) -> DutyClaim:
    """The claim of one server process on the installation's duties; `workers`: one of several
    processes on this data directory (they settle among themselves with a file lock first)."""
    local = ProcessLock(Path(settings.data_dir) / DUTY_LOCK) if workers else None
    return DutyClaim(DutyLock(database_url), local)


def worker_app() -> Starlette:
    """uvicorn's app factory in each worker process."""
    from server.app import create_app

    settings = Settings()
    configure_logs(settings.log_level, settings.log_format)
    if settings.database_url is None:
        raise RuntimeError("a server worker needs FACTORYOS_DATABASE_URL (set by `factoryos serve`)")
    return create_app(settings, settings.database_url, poller=settings.poller,
                      backup_url=os.environ.get(BACKUP_URL_ENV) or None,
                      duties=duty_claim(settings, settings.database_url, workers=True))
