"""Operations state for the server's lifespan: the license in force and the backup schedule.

At shutdown a running backup or restore is waited for (bounded): a restore must never stop
halfway through swapping the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from factoryos.backup.catalog import backup_dir
from factoryos.backup.service import BackupService
from factoryos.config import Settings
from factoryos.licensing.active import load_license_state

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_SECONDS = 300.0


@asynccontextmanager
async def operations(
    app: Starlette, settings: Settings, backup_url: str | None, *, schedule: bool = True
) -> AsyncIterator[None]:
    """Sets `app.state.license` and `app.state.backups`; runs scheduled backups when a source is given
    and `schedule` (of several server processes, only one runs the schedule)."""
    app.state.license = load_license_state(settings.data_dir)
    backups = BackupService(
        backup_dir(settings),
        backup_url,
        interval_hours=settings.backup_interval_hours,
        keep_days=settings.backup_keep_days,
    )
    app.state.backups = backups
    run = backups.scheduled and schedule
    task = asyncio.create_task(backups.run_schedule(), name="scheduled backups") if run else None
    if task is None and schedule:
        log.info("scheduled backups are off (%s)", "no superuser URL" if not backups.available else "interval 0")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if backups.running is not None:
            log.warning("waiting for the running %s to finish before stopping", backups.running)
            if not await asyncio.to_thread(backups.wait_idle, SHUTDOWN_WAIT_SECONDS):
                log.error("stopping while a %s still runs", backups.running)
