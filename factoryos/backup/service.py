"""The server's backups: one at a time, on demand (API) or on a schedule, with retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from pathlib import Path

from factoryos.backup.catalog import list_backups, prune
from factoryos.backup.create import create_backup
from factoryos.backup.errors import BackupError
from factoryos.backup.manifest import Backup
from factoryos.errors import Conflict, FactoryOSError

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = dt.timedelta(minutes=15)


class BackupService:
    def __init__(
        self,
        directory: Path,
        source_url: str | None,
        *,
        interval_hours: float = 6,
        keep_days: int = 14,
    ) -> None:
        self.directory = directory
        self._source_url = source_url
        self.interval = dt.timedelta(hours=interval_hours) if interval_hours > 0 else None
        self.keep_days = keep_days
        self.last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._source_url is not None

    @property
    def scheduled(self) -> bool:
        return self.available and self.interval is not None

    def create(self, label: str = "manual", *, wait: bool = False) -> Backup:
        if self._source_url is None:
            raise BackupError(
                "backups are not available on this server: it runs without the database superuser URL "
                "(FACTORYOS_ADMIN_DATABASE_URL); run `factoryos backup create` on the server host",
                code="backups_unavailable",
                status=503,
            )
        if not self._lock.acquire(blocking=wait):
            raise Conflict("a backup is already running: try again when it has finished", code="backup_in_progress")
        try:
            return create_backup(self._source_url, self.directory, label=label)
        finally:
            self._lock.release()

    def backups(self) -> list[Backup]:
        return list_backups(self.directory)

    def latest(self) -> Backup | None:
        found = self.backups()
        return found[0] if found else None

    def run_scheduled(self) -> Backup:
        backup = self.create("scheduled", wait=True)
        prune(self.directory, self.keep_days)
        return backup

    def seconds_until_due(self, now: dt.datetime) -> float:
        assert self.interval is not None
        latest = self.latest()
        if latest is None:
            return 0.0
        # Capped at one interval: a clock set back must not postpone backups for longer.
        due = min(latest.created_at + self.interval - now, self.interval)
        return max(0.0, due.total_seconds())

    async def run_schedule(self) -> None:
        """Until cancelled: back up when the newest backup is one interval old, then prune.

        Timing follows the newest backup on disk, so a restart does not add an extra one.
        """
        assert self.interval is not None
        while True:
            await asyncio.sleep(self.seconds_until_due(dt.datetime.now(dt.UTC)))
            try:
                backup = await asyncio.to_thread(self.run_scheduled)
            except FactoryOSError as exc:
                self.last_error = str(exc)
                log.error("scheduled backup failed: %s", exc)
            except Exception as exc:  # a bug must not end the schedule
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("scheduled backup failed")
            else:
                self.last_error = None
                log.info("scheduled backup %s done (%d bytes)", backup.name, backup.size)
                continue
            await asyncio.sleep(min(RETRY_AFTER_FAILURE, self.interval).total_seconds())
