"""The off-host copy of the WAL archive and base backups (`FACTORYOS_BACKUP_COPY_TO`), so losing
the server's disk loses neither.

Files land under a temporary name, are fsynced and then renamed, so the copy never holds half a
segment or half a base backup under a real name. The segment being written (`.partial`) is
copied again whenever it grew, which keeps the copy's RPO near the archive's own. The copy has
its own retention (`FACTORYOS_BACKUP_COPY_KEEP_DAYS`), again keeping the WAL its base backups need.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from factoryos.backup.archive import prepare_directory
from factoryos.backup.basebackup import base_dir, list_base_backups, oldest_needed, prune_base_backups
from factoryos.backup.wal import remove_before, segments, wal_dir

log = logging.getLogger(__name__)

_COPYING = ".copying"


def _copy_file(source: Path, target: Path) -> None:
    aside = target.with_name(target.name + _COPYING)
    with source.open("rb") as src, aside.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    aside.chmod(0o600)
    aside.replace(target)


def mirror(backup_directory: Path, copy_to: Path, keep_days: int) -> int:
    """Bring the copy up to date; returns how many files or base backups were copied."""
    copied = 0
    source_wal, target_wal = wal_dir(backup_directory), wal_dir(copy_to)
    prepare_directory(target_wal)
    prepare_directory(base_dir(copy_to))
    for base in reversed(list_base_backups(backup_directory)):
        target = base_dir(copy_to) / base.name
        if target.exists():
            continue
        partial = target.with_name(target.name + _COPYING)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=0o700)
        for path in sorted(base.path.iterdir()):
            _copy_file(path, partial / path.name)
        partial.rename(target)
        copied += 1
    for segment in segments(source_wal):
        target = target_wal / segment.path.name
        if segment.partial:
            stat = segment.path.stat()
            if target.exists() and target.stat().st_mtime >= stat.st_mtime and target.stat().st_size == stat.st_size:
                continue
        elif target.exists():
            continue
        _copy_file(segment.path, target)
        if not segment.partial:
            target.with_name(segment.name + ".partial").unlink(missing_ok=True)  # completed in the copy too
        copied += 1
    prune_base_backups(copy_to, keep_days)
    needed = oldest_needed(copy_to)
    if needed is not None:
        remove_before(target_wal, *needed)
    return copied
