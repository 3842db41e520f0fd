"""Fault drill: the backup disk fills up.

The backup directory is a small tmpfs (mounting one needs root). One backup succeeds;
then the disk is filled until less than one backup's size is free and the next backup
must fail with a clear error (a FactoryOSError with a stable code, which `factoryos
backup create` prints as one red line), leave no partial file behind, and keep the
earlier backup intact (it still verifies). Finally space is freed and a backup succeeds
again. The drill calls factoryos.backup, the code behind `factoryos backup create` and
the server's scheduled backups.

Run: python -m scripts.drills.backup_disk_full
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from factoryos.backup.catalog import find_backup
from factoryos.backup.create import create_backup
from factoryos.backup.source import backup_source_url
from factoryos.backup.verify import verify_backup
from factoryos.db.engine import DatabaseUrls
from factoryos.errors import FactoryOSError
from scripts.drills.stack import embedded_database, scratch_dir

DISK_BYTES = 8 * 1024 * 1024


class MountUnavailable(RuntimeError):
    pass


@contextmanager
def small_disk(path: Path, size: int = DISK_BYTES) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        raise MountUnavailable(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@dataclass
class Outcome:
    first: str = ""                     # the backup made before the disk filled
    error_code: str | None = None
    error: str = ""
    leftovers: list[str] = field(default_factory=list)  # files the failed attempt left behind
    first_verifies: bool = False
    after_freeing: bool = False

    @property
    def ok(self) -> bool:
        return (bool(self.first) and self.error_code is not None and bool(self.error) and "\n" not in self.error
                and not self.leftovers and self.first_verifies and self.after_freeing)

    def summary(self) -> str:
        return (f"first backup {self.first or 'MISSING'}; on a full disk: {self.error_code}: "
                f"{self.error!r}, left {self.leftovers or 'nothing'} behind; "
                f"first backup verifies: {self.first_verifies}; backup after freeing space: {self.after_freeing} "
                f"→ {'OK' if self.ok else 'FAILED'}")


def run_drill(urls: DatabaseUrls, work: Path, *, database: str = "factoryos") -> Outcome:
    out = Outcome()
    source = backup_source_url(urls, database)
    if source is None:
        raise ValueError("the drill needs the superuser URL")
    with small_disk(work / "backups") as disk:
        first = create_backup(source, disk, label="before-full")
        out.first = first.name
        before = sorted(p.name for p in disk.iterdir())
        _fill(disk / "filler", keep_free=first.size // 4)
        try:
            create_backup(source, disk, label="on-full")
        except FactoryOSError as exc:
            out.error_code, out.error = exc.code, str(exc)
        out.leftovers = sorted(set(p.name for p in disk.iterdir()) - set(before) - {"filler"})
        try:
            verify_backup(find_backup(disk, first.name))
            out.first_verifies = True
        except FactoryOSError as exc:
            out.error += f" (verify: {exc})"
        (disk / "filler").unlink()
        out.after_freeing = create_backup(source, disk, label="after").size > 0
    return out


def _fill(path: Path, keep_free: int) -> None:
    free = shutil.disk_usage(path.parent).free
    with path.open("wb") as f:
        remaining = max(0, free - keep_free)
        block = b"\0" * 65536
        while remaining > 0:
            remaining -= f.write(block[:min(len(block), remaining)])


def main() -> None:
    with scratch_dir("factoryos-diskfull-") as work, embedded_database(work) as urls:
        outcome = run_drill(urls, work)
        print(outcome.summary())
    raise SystemExit(0 if outcome.ok else 1)


if __name__ == "__main__":
    main()
