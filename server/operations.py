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
from pathlib import Path

from sqlalchemy import create_engine, pool
from starlette.applications import Starlette

from factoryos.audit.anchoring import Anchorer

from factoryos.backup.catalog import backup_dir
from factoryos.backup.continuous import ContinuousArchiver, drop_slot
from factoryos.backup.service import BackupService
from factoryos.config import Settings, normalize_db_url
from factoryos.licensing.active import load_license_state
from factoryos.system.first_sign_in import retire

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_SECONDS = 300.0


@asynccontextmanager
async def operations(
    app: Starlette, settings: Settings, backup_url: str | None, *, schedule: bool = True
) -> AsyncIterator[None]:
    """Sets `app.state.license` and `app.state.backups`; runs scheduled backups when a source is given
    and `schedule` (of several server processes, only one runs the schedule)."""
    app.state.license = load_license_state(settings)
    backups = BackupService(
        backup_dir(settings),
        backup_url,
        interval_hours=settings.backup_interval_hours,
        keep_days=settings.backup_keep_days,
        copy_to=settings.backup_copy_to,
        copy_keep_days=settings.backup_copy_keep_days,
    )
    app.state.backups = backups
    run = backups.scheduled and schedule
    task = asyncio.create_task(backups.run_schedule(), name="scheduled backups") if run else None
    if task is None and schedule:
        log.info("scheduled backups are off (%s)", "no superuser URL" if not backups.available else "interval 0")
    anchorer, anchor_engine, anchoring = None, None, None
    if backup_url and schedule:
        anchor_engine = create_engine(normalize_db_url(backup_url), poolclass=pool.NullPool)
        anchorer = Anchorer(anchor_engine, settings.data_dir)
        anchoring = asyncio.create_task(_anchor_forever(anchorer, settings.audit_anchor_seconds),
                                        name="audit anchors")
    elif schedule:
        log.warning("audit chain heads are not signed: no superuser URL (audit verify checks the hashes only)")
    app.state.anchorer = anchorer
    first_password = None
    if schedule and settings.first_sign_in_file is not None:
        first_password = asyncio.create_task(_retire_first_password(settings.first_sign_in_file),
                                             name="first password")
    backups.anchorer = anchorer  # every backup's manifest carries its chain heads, signed
    # Archiving needs a replication connection: the embedded cluster allows it; another server only when
    # FACTORYOS_WAL_ARCHIVE says so (the Compose stack's postgres image has the pg_hba line for it).
    ours = settings.embedded or "wal_archive" in settings.model_fields_set
    if backup_url and schedule and ours and settings.wal_archive:
        # Point-in-time recovery: the WAL streamed into the backup folder, base backups on their own interval.
        backups.archiver = ContinuousArchiver(backup_dir(settings), backup_url,
                                              base_interval_hours=settings.base_backup_interval_hours,
                                              keep_days=settings.backup_keep_days,
                                              rpo_seconds=settings.rpo_seconds,
                                              copy_to=settings.backup_copy_to,
                                              copy_keep_days=settings.backup_copy_keep_days).start()
    elif backup_url and schedule and ours:
        with contextlib.suppress(Exception):  # the database may be on its way; the next start tries again
            await asyncio.to_thread(drop_slot, backup_url)
    try:
        yield
    finally:
        for running in (task, anchoring, first_password):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        if backups.archiver is not None:
            await asyncio.to_thread(backups.archiver.stop)
        if anchorer is not None:
            with contextlib.suppress(Exception):  # the database may be gone at shutdown
                await asyncio.to_thread(anchorer.anchor_now)
        if anchor_engine is not None:
            anchor_engine.dispose()
        if backups.running is not None:
            log.warning("waiting for the running %s to finish before stopping", backups.running)
            if not await asyncio.to_thread(backups.wait_idle, SHUTDOWN_WAIT_SECONDS):
                log.error("stopping while a %s still runs", backups.running)


async def _retire_first_password(path: Path) -> None:
    """The installer's note of the owner's password goes once it is 24 hours old (checked hourly)."""
    while path.exists():
        await asyncio.to_thread(retire, path)
        await asyncio.sleep(3600)


async def _anchor_forever(anchorer: Anchorer, interval: float) -> None:
    """Sign the chain heads that moved, at once and then every `interval` s."""
    while True:
        try:
            await asyncio.to_thread(anchorer.anchor_now)
        except Exception as exc:  # database away or being restored: the next round catches up
            log.warning("could not sign the audit chain heads: %s", type(exc).__name__)
        await asyncio.sleep(interval)
