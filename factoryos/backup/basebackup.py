"""Base backups: `pg_basebackup` in tar format, gzipped, in `<backup dir>/base/NAME/`.

Each holds `base.tar.gz`, `pg_wal.tar.gz` (the WAL from its start to its end, so it restores on
its own), PostgreSQL's `backup_manifest` and our `info.json` (start and end LSN, timeline, when it
finished: the earliest instant it can be recovered to). It is written under `NAME.partial` and
renamed when complete, so a listed base backup is always whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from factoryos.backup.archive import prepare_directory, storage_error
from factoryos.backup.errors import BackupError
from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.backup.wal import lsn_to_int, segno_of

log = logging.getLogger(__name__)

BASE_DIR = "base"
INFO = "info.json"
_PARTIAL = ".partial"


@dataclass(frozen=True)
class BaseBackup:
    path: Path
    started_at: dt.datetime
    finished_at: dt.datetime
    timeline: int
    start_lsn: str
    end_lsn: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def first_segment(self) -> int:
        return segno_of(lsn_to_int(self.start_lsn))

    @classmethod
    def load(cls, path: Path) -> BaseBackup:
        data = json.loads((path / INFO).read_text())
        return cls(path, dt.datetime.fromisoformat(data["started_at"]), dt.datetime.fromisoformat(data["finished_at"]),
                   int(data["timeline"]), data["start_lsn"], data["end_lsn"], int(data["size"]))  # fmt: skip


def base_dir(backup_directory: Path) -> Path:
    return backup_directory / BASE_DIR


def list_base_backups(backup_directory: Path) -> list[BaseBackup]:
    """Complete base backups, newest first."""
    found = []
    try:
        paths = [p for p in base_dir(backup_directory).iterdir() if p.is_dir() and not p.name.endswith(_PARTIAL)]
    except OSError:
        return []
    for path in paths:
        try:
            found.append(BaseBackup.load(path))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("skipping base backup %s: %s", path.name, exc)
    return sorted(found, key=lambda b: b.finished_at, reverse=True)


def take_base_backup(source_url: str, backup_directory: Path, *, now: dt.datetime | None = None) -> BaseBackup:
    """`pg_basebackup` of the whole cluster over a replication connection of `source_url` (a superuser)."""
    started = now or dt.datetime.now(dt.UTC)
    parent = base_dir(backup_directory)
    prepare_directory(parent)
    final = parent / f"base-{started:%Y%m%dT%H%M%S%fZ}"
    partial = final.with_name(final.name + _PARTIAL)
    target, env = libpq_target(source_url)
    command = [str(find_tool("pg_basebackup")), f"--dbname={target}", "--no-password", "-D", str(partial),
               "--format=tar", "--gzip", "--wal-method=stream", "--checkpoint=fast",
               "--label=factoryos base backup"]  # fmt: skip
    try:
        run = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=6 * 3600)
        if run.returncode != 0:
            lines = [line for line in run.stderr.strip().splitlines() if "skipping special file" not in line]
            raise BackupError(f"pg_basebackup failed: {lines[-1] if lines else f'exit status {run.returncode}'}",
                              code="backup_failed")  # fmt: skip
        manifest = json.loads((partial / "backup_manifest").read_text())
        wal = manifest["WAL-Ranges"][-1]
        size = sum(p.stat().st_size for p in partial.iterdir())
        info = {"started_at": started.isoformat(), "finished_at": dt.datetime.now(dt.UTC).isoformat(),
                "timeline": wal["Timeline"], "start_lsn": wal["Start-LSN"], "end_lsn": wal["End-LSN"], "size": size}
        (partial / INFO).write_text(json.dumps(info, indent=2))
        partial.rename(final)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise storage_error(exc, parent) from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    backup = BaseBackup.load(final)
    log.info("base backup %s taken (%d bytes, WAL from %s)", backup.name, backup.size, backup.start_lsn)
    return backup


def prune_base_backups(backup_directory: Path, keep_days: int, *, now: dt.datetime | None = None) -> list[BaseBackup]:
    """Remove base backups older than `keep_days`, never the newest; returns what was removed.
    The WAL they alone needed goes with them (see `oldest_needed`)."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=keep_days)
    backups = list_base_backups(backup_directory)
    removed = [b for b in backups[1:] if b.finished_at < cutoff]
    for backup in removed:
        shutil.rmtree(backup.path, ignore_errors=True)
        log.info("removed base backup %s (older than %d days)", backup.name, keep_days)
    return removed


def oldest_needed(backup_directory: Path) -> tuple[int, int] | None:
    """(timeline, segment) of the first WAL segment the oldest kept base backup replays from."""
    backups = list_base_backups(backup_directory)
    if not backups:
        return None
    oldest = backups[-1]
    return oldest.timeline, oldest.first_segment
