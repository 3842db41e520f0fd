"""Continuous archiving: pg_receivewal as a supervised child, plus base backups on a schedule.

Why pg_receivewal rather than `archive_command`: it streams the segment being written (a
committed transaction reaches the archive within about a second, not at the next
`archive_timeout` switch), needs no server restart or setting (the cluster's defaults allow
local replication), runs as this process's user (so it writes the backup folder with the
dumps' ownership, while the embedded server runs as its own system user), and a physical
replication slot keeps the server from recycling any WAL it has not received, across restarts
of either. The cost, a slot holding WAL while the receiver is down, is what health reports as lag.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, pool, text

from factoryos.backup.archive import prepare_directory
from factoryos.backup.basebackup import BASE_DIR, list_base_backups, oldest_needed, prune_base_backups, take_base_backup
from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.backup.wal import WAL_DIR, compress_completed, lsn_to_int, remove_before, segments, wal_dir
from factoryos.backup.wal_copies import mirror
from factoryos.backup.window import note_received
from factoryos.config import normalize_db_url
from factoryos.errors import FactoryOSError

log = logging.getLogger(__name__)

SLOT = "factoryos_wal"
APPLICATION = "factoryos-wal"
POLL_SECONDS = 5.0
RESTART_AFTER_SECONDS = 10.0
DISK_LOW_BYTES = 2 * 1024**3
BASE_RETRY = dt.timedelta(minutes=15)
SYSTEM_FILE = ".system-identifier"

_LAG = text(
    "select pg_current_wal_flush_lsn()::text as current, "
    "(select flush_lsn::text from pg_stat_replication where application_name = :app limit 1) as flushed, "
    "(select flush_lsn >= pg_current_wal_flush_lsn() from pg_stat_replication where application_name = :app "
    " limit 1) as caught_up"
)


def drop_slot(source_url: str) -> bool:
    """With archiving turned off, the slot would keep every WAL segment on the data disk for good."""
    engine = create_engine(normalize_db_url(source_url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            dropped = conn.execute(text("select pg_drop_replication_slot(slot_name) from pg_replication_slots "
                                        "where slot_name = :slot and not active"), {"slot": SLOT}).first()  # fmt: skip
    finally:
        engine.dispose()
    if dropped is not None:
        log.warning("WAL archiving is off: dropped the replication slot %s (point-in-time recovery stops here)", SLOT)
    return dropped is not None


@dataclass(frozen=True)
class ArchiveStatus:
    state: str  # streaming, starting, stopped, off
    rpo_seconds: int
    last_success_at: dt.datetime | None  # the archive held all WAL the server had written at this instant
    lag_seconds: int | None
    base_backups: int
    last_base_at: dt.datetime | None
    free_bytes: int | None
    detail: str | None

    @property
    def ok(self) -> bool:
        return self.state == "streaming" and self.lag_seconds is not None and self.lag_seconds <= self.rpo_seconds \
            and self.detail is None


class ContinuousArchiver:
    """Run in the one server process that owns the schedules; `start()` then `stop()`."""

    def __init__(self, backup_directory: Path, source_url: str, *, base_interval_hours: float = 24,
                 keep_days: int = 14, rpo_seconds: int = 300, poll_seconds: float = POLL_SECONDS,
                 copy_to: Path | None = None, copy_keep_days: int = 30) -> None:  # fmt: skip
        self.directory = backup_directory
        self.wal = wal_dir(backup_directory)
        self._source = source_url
        self.base_interval = dt.timedelta(hours=base_interval_hours) if base_interval_hours > 0 else None
        self.keep_days = keep_days
        self.rpo_seconds = rpo_seconds
        self.poll_seconds = poll_seconds
        self.copy_to = copy_to  # the off-host copy of the archive and base backups (None: none)
        self.copy_keep_days = copy_keep_days
        self.last_copy_error: str | None = None
        self.last_success_at: dt.datetime | None = None
        self.last_error: str | None = None
        self.last_base_error: str | None = None
        self._started_at = dt.datetime.now(dt.UTC)
        self._previous: tuple[dt.datetime, str] | None = None
        self._receiver: subprocess.Popen[bytes] | None = None
        self._receiver_log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the archiver; closed in stop()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base_thread: threading.Thread | None = None
        self._base_attempt_at: dt.datetime | None = None
        self._engine = create_engine(normalize_db_url(source_url), poolclass=pool.NullPool)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ContinuousArchiver:
        """Never raises: an unusable backup folder is reported by health, not a server that won't start."""
        self._thread = threading.Thread(target=self._run, name="wal archiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._stop_receiver()
        self._engine.dispose()
        self._receiver_log.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # a bug or a database away must not end archiving
                message = f"{type(exc).__name__}: {exc}"
                if message != self.last_error:  # once per new failure, not every poll
                    log.warning("WAL archiver: %s", message)
                self.last_error = message
            self._stop.wait(self.poll_seconds)

    def tick(self, *, base: bool = True) -> None:
        """One round: keep the receiver running, compress what it finished, measure, base backup."""
        prepare_directory(self.wal)
        self._ensure_receiver()
        compress_completed(self.wal)
        self._measure()
        if base:
            self._base_backup_if_due()
        if self.copy_to is not None:
            self._mirror(self.copy_to)

    def _mirror(self, copy_to: Path) -> None:
        """A failing copy never stops archiving here; it is reported."""
        try:
            mirror(self.directory, copy_to, self.copy_keep_days)
        except (OSError, FactoryOSError) as exc:
            if self.last_copy_error is None:
                log.error("copying the WAL archive to %s failed: %s", copy_to, exc)
            self.last_copy_error = str(exc)
        else:
            self.last_copy_error = None

    # -- the receiver ------------------------------------------------------------------------
    def _conninfo(self) -> tuple[str, dict[str, str]]:
        url = make_url(self._source).update_query_dict({"application_name": APPLICATION})
        return libpq_target(url.render_as_string(hide_password=False))

    def _ensure_receiver(self) -> None:
        if self._receiver is not None and self._receiver.poll() is None:
            return
        self._same_cluster()
        if self._receiver is not None:
            self._receiver_log.seek(0)
            lines = self._receiver_log.read().decode(errors="replace").strip().splitlines()
            self.last_error = f"pg_receivewal stopped: {lines[-1] if lines else f'exit {self._receiver.returncode}'}"
            log.error("%s; restarting in %.0f s", self.last_error, RESTART_AFTER_SECONDS)
            self._receiver = None
            if self._stop.wait(RESTART_AFTER_SECONDS):
                return
        target, env = self._conninfo()
        tool = str(find_tool("pg_receivewal"))
        common = [f"--dbname={target}", "--no-password", f"--slot={SLOT}"]
        created = subprocess.run([tool, *common, "--create-slot", "--if-not-exists"], capture_output=True, text=True,
                                 env=env, check=False, timeout=60)  # fmt: skip
        if created.returncode != 0:
            lines = created.stderr.strip().splitlines()
            self.last_error = f"cannot create the replication slot: {lines[-1] if lines else created.returncode}"
            return
        self._receiver_log.seek(0)
        self._receiver_log.truncate()
        # --synchronous: flush every write at once, so what the archive holds is on its disk.
        self._receiver = subprocess.Popen([tool, *common, "-D", str(self.wal), "--synchronous", "--no-loop",
                                           "--status-interval=1"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=self._receiver_log)  # fmt: skip
        log.info("WAL archiver: pg_receivewal streaming into %s", self.wal)

    def _same_cluster(self) -> None:
        """An archive holds one cluster's WAL: a new cluster (data directory re-created) must not stream
        into the old one's, so the old archive and its base backups move aside, whole."""
        with self._engine.connect() as conn:
            system = str(conn.execute(text("select system_identifier from pg_control_system()")).scalar_one())
        marker = self.wal / SYSTEM_FILE
        known = marker.read_text().strip() if marker.exists() else None
        if known == system:
            return
        if known is not None or segments(self.wal):
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = self.directory / f"pitr-other-cluster-{stamp}"
            aside.mkdir(mode=0o700)
            for name in (WAL_DIR, BASE_DIR):
                if (self.directory / name).exists():
                    (self.directory / name).rename(aside / name)
            log.warning("the WAL archive belonged to another database cluster: moved it to %s", aside)
            prepare_directory(self.wal)
        marker.write_text(system)

    def _stop_receiver(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is None or receiver.poll() is not None:
            return
        receiver.terminate()  # pg_receivewal flushes and exits on SIGTERM
        try:
            receiver.wait(timeout=30)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()

    def _measure(self) -> None:
        now = dt.datetime.now(dt.UTC)
        with self._engine.connect() as conn:
            row = conn.execute(_LAG, {"app": APPLICATION}).one()
        previous, self._previous = self._previous, (now, row.current)
        if row.caught_up:
            self._received(now, row.current)
        elif row.flushed is not None and previous is not None and lsn_to_int(row.flushed) >= lsn_to_int(previous[1]):
            # Busy server: never equal at one instant, but all it had written a poll ago is archived.
            self._received(*previous)

    def _received(self, at: dt.datetime, lsn: str) -> None:
        self.last_success_at = at
        self.last_error = None
        note_received(self.directory, at, lsn)

    def _base_backup_if_due(self) -> None:
        if self.base_interval is None or self.last_success_at is None:
            return  # the receiver streams first: the base backup's WAL must reach the archive too
        newest = list_base_backups(self.directory)
        if newest and dt.datetime.now(dt.UTC) - newest[0].finished_at < self.base_interval:
            return
        now = dt.datetime.now(dt.UTC)
        if self.last_base_error and self._base_attempt_at and now - self._base_attempt_at < BASE_RETRY:
            return
        if self._base_thread is None or not self._base_thread.is_alive():
            self._base_attempt_at = now
            # In a thread of its own: hours of pg_basebackup must not stop the lag being measured.
            self._base_thread = threading.Thread(target=self._scheduled_base_backup, name="base backup", daemon=True)
            self._base_thread.start()

    def _scheduled_base_backup(self) -> None:
        try:
            self.take_base_backup()
        except Exception:
            pass  # kept in last_base_error, reported by health; the next round retries

    def take_base_backup(self) -> None:
        try:
            take_base_backup(self._source, self.directory)
            prune_base_backups(self.directory, self.keep_days)
            needed = oldest_needed(self.directory)
            if needed is not None:
                removed = remove_before(self.wal, *needed)
                if removed:
                    log.info("removed %d WAL segments no kept base backup needs", removed)
        except Exception as exc:
            self.last_base_error = str(exc)
            log.error("base backup failed: %s", exc)
            raise
        self.last_base_error = None

    # -- health --------------------------------------------------------------------------------
    def status(self, now: dt.datetime | None = None) -> ArchiveStatus:
        now = now or dt.datetime.now(dt.UTC)
        running = self._receiver is not None and self._receiver.poll() is None
        since = self.last_success_at or self._started_at
        lag = max(0, int((now - since).total_seconds()))
        bases = list_base_backups(self.directory)
        try:
            free: int | None = shutil.disk_usage(self.directory).free
        except OSError:
            free = None
        # States only (health is public): the errors themselves name paths and go to the log.
        detail = "the WAL archiver is failing (see the server log)" if self.last_error else None
        if detail is None and self.last_base_error:
            detail = "the last base backup failed (see the server log)"
        if detail is None and self.last_copy_error:
            detail = "the off-host copy of the WAL archive is failing (see the server log)"
        if free is not None and free < DISK_LOW_BYTES:
            detail = f"less than {DISK_LOW_BYTES // 1024**3} GiB free in the backup folder: archiving stops when full"
        elif detail is None and lag > self.rpo_seconds:
            detail = f"the WAL archive is {lag} s behind, more than the RPO of {self.rpo_seconds} s"
        elif detail is None and not bases:
            detail = "no base backup yet: no point-in-time recovery possible"
        state = "streaming" if running and self.last_success_at is not None else ("starting" if running else "stopped")
        return ArchiveStatus(state, self.rpo_seconds, self.last_success_at, lag, len(bases),
                             bases[0].finished_at if bases else None, free, detail)  # fmt: skip
