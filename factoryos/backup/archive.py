"""Dump files on disk: stream a dump command into a file with its SHA-256, atomically.

Shared by server/CLI backups and the installer's pre-upgrade dumps (which run pg_dump
inside the compose `postgres` container). A failed write never leaves a partial file,
so the backups already in the directory stay the newest good ones.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from factoryos.backup.errors import BackupError

CHUNK = 1 << 20
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str
    size: int


def storage_error(exc: OSError, directory: Path) -> BackupError:
    """One line a user can act on, for the ways a backup directory refuses a file."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BackupError(
            f"not enough space for the backup in {directory} ({exc.strerror}): free some space or point "
            "FACTORYOS_BACKUP_DIR at a larger disk; older backups were kept",
            code="backup_disk_full",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return BackupError(
            f"the backup directory {directory} is not writable ({exc.strerror}): fix its permissions or "
            "set FACTORYOS_BACKUP_DIR",
            code="backup_dir_unwritable",
        )
    return BackupError(f"writing the backup in {directory} failed: {exc.strerror or exc}", code="backup_write_failed")


def prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    except OSError as exc:
        raise storage_error(exc, directory) from None


def write_stream(
    command: Sequence[str], target: Path, *, env: Mapping[str, str] | None = None, what: str = "pg_dump"
) -> Written:
    """Run `command` (`what` names it in errors) and store its stdout as `target` (mode 0600)."""
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    digest = hashlib.sha256()
    size = 0
    try:
        # Unbuffered: a full disk fails in write() below, never later in close().
        out = partial.open("wb", buffering=0)
    except OSError as exc:
        raise storage_error(exc, target.parent) from None
    # stderr goes to a file: a chatty tool must not block on a full pipe nobody reads yet.
    with out, tempfile.TemporaryFile() as errors, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=errors, env=env
    ) as proc:
        assert proc.stdout is not None
        try:
            while chunk := proc.stdout.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[out.write(view) :]
                digest.update(chunk)
                size += len(chunk)
            os.fsync(out.fileno())
        except OSError as exc:
            proc.kill()
            partial.unlink(missing_ok=True)
            raise storage_error(exc, target.parent) from None
        except BaseException:
            proc.kill()
            partial.unlink(missing_ok=True)
            raise
        proc.wait()
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if proc.returncode != 0 or size == 0:
        partial.unlink(missing_ok=True)
        reason = message.splitlines()[-1] if message else f"exit status {proc.returncode}"
        raise BackupError(f"{what} failed: {reason}", code="backup_failed")
    partial.chmod(0o600)
    partial.replace(target)
    return Written(target, digest.hexdigest(), size)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
