"""One backup or restore at a time per backup directory, across processes.

The server's workers (`serve --workers N`) and `factoryos backup` run inside the same host
or container: a lock file beside the backups keeps a pg_dump from racing a restore's swap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from factoryos.errors import Conflict
from factoryos.process_lock import ProcessLock

LOCK_FILE = ".backup.lock"

log = logging.getLogger(__name__)


@contextmanager
def exclusive(directory: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the directory's backup lock; `wait` seconds for it, then 409 `backup_in_progress`."""
    lock = ProcessLock(Path(directory) / LOCK_FILE)
    deadline = time.monotonic() + wait
    while not _try(lock):
        if time.monotonic() >= deadline:
            holder = lock.holder()
            raise Conflict(
                "another backup or restore is running"
                + (f" (process {holder})" if holder else "")
                + ": try again when it has finished",
                code="backup_in_progress",
            )
        time.sleep(0.25)
    try:
        yield
    finally:
        lock.release()


def _try(lock: ProcessLock) -> bool:
    try:
        return lock.try_acquire()
    except OSError as exc:
        # Backups restored from read-only media: the server's own one-at-a-time still holds.
        log.warning("no backup lock file at %s (%s): not guarding against other processes", lock.path, exc)
        return True
