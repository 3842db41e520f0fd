"""The server's backups and restores: one at a time, on demand (API) or on a schedule, with retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from pathlib import Path

from uuid import UUID

from factoryos.backup.catalog import backup_named, list_backups, prune
from factoryos.backup.copies import copy_and_prune
from factoryos.audit.anchoring import Anchorer
from factoryos.backup.continuous import ContinuousArchiver
from factoryos.backup.create import create_backup
from factoryos.backup.errors import BackupError
from factoryos.backup.manifest import Backup
from factoryos.backup.restore_job import Requester, RestoreHooks, RestoreJob, run_restore
from factoryos.backup.standby import ReplicationMonitor, ReplicationStatus
from factoryos.errors import Conflict, FactoryOSError

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = dt.timedelta(minutes=15)
KEEP_JOBS = 20
# A scheduled backup waits this long for one another process (a CLI backup) is running.
SCHEDULED_WAIT_SECONDS = 3600.0


class BackupService:
    def __init__(
        self,
        directory: Path,
        source_url: str | None,
        *,
        interval_hours: float = 6,
        keep_days: int = 14,
        copy_to: Path | None = None,
        copy_keep_days: int = 30,
    ) -> None:
        self.directory = directory
        self._source_url = source_url
        self.interval = dt.timedelta(hours=interval_hours) if interval_hours > 0 else None
        self.keep_days = keep_days
        self.copy_to = copy_to  # off-host copies of every backup taken here (None: none)
        self.copy_keep_days = copy_keep_days
        self.anchorer: Anchorer | None = None  # set by the server process that signs the audit heads
        # Continuous WAL archiving, run by the server process that owns the schedules (None: off).
        self.archiver: ContinuousArchiver | None = None
        self.last_error: str | None = None
        self.last_copy_error: str | None = None
        # Held by this process's one backup or restore; factoryos.backup.lock covers other processes.
        self._lock = threading.Lock()
        self._running: str | None = None
        self._jobs: dict[UUID, RestoreJob] = {}
        self._replication: ReplicationMonitor | None = None

    def replication(self, rpo_seconds: int) -> ReplicationStatus | None:
        """Standbys of this server's database and their lag (or its own, on a standby); read as the
        superuser, cached a few seconds. None without a superuser URL or any replication."""
        if self._source_url is None:
            return None
        if self._replication is None or self._replication.rpo_seconds != rpo_seconds:
            self._replication = ReplicationMonitor(self._source_url, rpo_seconds)
        return self._replication.status()

    @property
    def available(self) -> bool:
        return self._source_url is not None

    @property
    def scheduled(self) -> bool:
        return self.available and self.interval is not None

    def _source(self, what: str) -> str:
        if self._source_url is None:
            raise BackupError(
                f"{what} are not available on this server: it runs without the database superuser URL "
                f"(FACTORYOS_ADMIN_DATABASE_URL); run `factoryos backup` on the server host",
                code="backups_unavailable",
                status=503,
            )
        return self._source_url

    def _claim(self, what: str, *, wait: bool = False) -> None:
        if not self._lock.acquire(blocking=wait):
            running = self._running or "backup"
            raise Conflict(f"a {running} is already running: try again when it has finished",
                           code=f"{running}_in_progress")  # fmt: skip
        self._running = what

    def _release(self) -> None:
        self._running = None
        self._lock.release()

    def create(self, label: str = "manual", *, wait: bool = False) -> Backup:
        source = self._source("backups")
        self._claim("backup", wait=wait)
        try:
            backup = create_backup(source, self.directory, label=label, wait=SCHEDULED_WAIT_SECONDS if wait else 0.0,
                                   anchorer=self.anchorer)
            self._copy(backup)
            return backup
        finally:
            self._release()

    def _copy(self, backup: Backup) -> None:
        """A failed copy never fails the backup (it is safe here); it is kept to be reported."""
        if self.copy_to is None:
            return
        try:
            copy_and_prune(backup, self.copy_to, self.copy_keep_days)
        except (OSError, FactoryOSError) as exc:
            self.last_copy_error = f"copying {backup.name} to {self.copy_to} failed: {exc}"
            log.error("%s", self.last_copy_error)
        else:
            self.last_copy_error = None

    def start_restore(self, name: str, requester: Requester, hooks: RestoreHooks) -> RestoreJob:
        """Start restoring backup `name` in a thread; 409 while a backup or restore runs."""
        source = self._source("restores")
        backup = backup_named(self.directory, name)
        self._claim("restore")
        try:
            job = RestoreJob(backup.name, backup.created_at, requester)
            self._remember(job)
            thread = threading.Thread(target=self._restore, args=(job, source, backup, hooks),
                                      name=f"restore {backup.name}", daemon=True)  # fmt: skip
            thread.start()
        except BaseException:
            self._release()
            raise
        return job

    def _restore(self, job: RestoreJob, source: str, backup: Backup, hooks: RestoreHooks) -> None:
        try:
            run_restore(job, source, backup, hooks)
        finally:
            self._release()

    def _remember(self, job: RestoreJob) -> None:
        self._jobs[job.id] = job
        for old in list(self._jobs)[:-KEEP_JOBS]:
            del self._jobs[old]

    def restore_job(self, job_id: UUID) -> RestoreJob | None:
        return self._jobs.get(job_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait for a running backup or restore to end (at shutdown: never stop one mid-swap)."""
        if not self._lock.acquire(timeout=timeout):
            return False
        self._lock.release()
        return True

    @property
    def running(self) -> str | None:
        """`backup` or `restore` while one runs."""
        return self._running

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
