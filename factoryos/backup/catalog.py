"""The backup directory: listing, finding one by name, and retention."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

from factoryos.backup.errors import BackupInvalid
from factoryos.backup.manifest import DUMP_SUFFIX, Backup
from factoryos.config import Settings
from factoryos.errors import NotFound

log = logging.getLogger(__name__)


def backup_dir(settings: Settings) -> Path:
    return settings.backup_dir or settings.data_dir / "backups"


def list_backups(directory: Path) -> list[Backup]:
    """Backups with a readable manifest, newest first (a dump without one is skipped)."""
    found = []
    try:
        paths = sorted(directory.glob(f"*{DUMP_SUFFIX}"))
    except OSError:
        return []
    for path in paths:
        try:
            found.append(Backup.load(path))
        except BackupInvalid as exc:
            log.warning("skipping %s: %s", path.name, exc)
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


def find_backup(directory: Path, ref: str) -> Backup:
    """`ref` is a path to a .dump file, or a backup's name in `directory` (with or without .dump)."""
    candidate = Path(ref).expanduser()
    if candidate.suffix == DUMP_SUFFIX and candidate.exists():
        return Backup.load(candidate)
    name = ref.removesuffix(DUMP_SUFFIX)
    path = directory / f"{name}{DUMP_SUFFIX}"
    if "/" in name or not path.exists():
        raise NotFound(f"no backup {ref!r} in {directory} (see `factoryos backup list`)", code="backup_not_found")
    return Backup.load(path)


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
_NAME = re.compile(NAME_PATTERN)


def backup_named(directory: Path, name: str) -> Backup:
    """A backup by its bare name in `directory` only (what API callers may ask for: never a path)."""
    path = directory / f"{name}{DUMP_SUFFIX}"
    if not _NAME.match(name) or name.endswith(DUMP_SUFFIX) or not path.is_file():
        raise NotFound(f"no backup named {name!r} on this server", code="backup_not_found", field="name")
    return Backup.load(path)


def prune(directory: Path, keep_days: int, now: dt.datetime | None = None) -> list[Backup]:
    """Remove backups older than `keep_days`, never the newest one; returns what was removed."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=keep_days)
    backups = list_backups(directory)
    removed = [b for b in backups[1:] if b.created_at < cutoff]
    for backup in removed:
        backup.delete()
        log.info("removed backup %s (older than %d days)", backup.name, keep_days)
    return removed
