"""The recovery window: from the end of the oldest base backup to the newest instant the WAL
archive is known to hold everything of.

"Known to hold" is the later of the last commit found in the archive (read with pg_waldump) and
the last time the archiver saw itself caught up with the server (`wal/.received`, written by
`factoryos.backup.continuous`): with no writes for an hour, the archive is still complete up to now.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from factoryos.backup.basebackup import BaseBackup, list_base_backups
from factoryos.backup.pgtools import find_tool, tool_env
from factoryos.backup.wal import Segment, extract, lsn_to_int, segments, segno_of, wal_dir

RECEIVED = ".received"
_COMMIT = re.compile(r"desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC")
_SCAN_SEGMENTS = 4


@dataclass(frozen=True)
class RecoveryWindow:
    earliest: dt.datetime | None
    latest: dt.datetime | None
    last_commit: dt.datetime | None
    base_backups: list[BaseBackup]

    @property
    def empty(self) -> bool:
        return self.earliest is None or self.latest is None or self.latest < self.earliest

    def describe(self) -> str:
        if self.empty:
            return "no recovery window (no base backup with its WAL yet)"
        assert self.earliest is not None and self.latest is not None
        return f"from {self.earliest:%Y-%m-%d %H:%M:%S} UTC to {self.latest:%Y-%m-%d %H:%M:%S} UTC"


def note_received(backup_directory: Path, at: dt.datetime, lsn: str) -> None:
    """The archive holds the server's WAL up to `lsn`, as of `at` (atomically replaced)."""
    path = wal_dir(backup_directory) / RECEIVED
    aside = path.with_name(path.name + ".new")
    aside.write_text(json.dumps({"at": at.isoformat(), "lsn": lsn}))
    os.replace(aside, path)


def _received(backup_directory: Path, archive: list[Segment]) -> dt.datetime | None:
    try:
        data = json.loads((wal_dir(backup_directory) / RECEIVED).read_text())
        at, lsn = dt.datetime.fromisoformat(data["at"]), lsn_to_int(data["lsn"])
    except (OSError, ValueError, KeyError):
        return None
    # Only believed while the segment it names (or a later one) is still in the archive.
    newest = archive[-1] if archive else None
    return at if newest is not None and segno_of(max(lsn - 1, 0)) <= newest.segno else None


def last_commit(archive: list[Segment]) -> dt.datetime | None:
    """The commit time of the newest transaction in the archive (read from the end, a few segments
    at a time: a restore to a time after it replays to the end of the archive)."""
    if not archive:
        return None
    timeline = archive[-1].timeline
    ours = [s for s in archive if s.timeline == timeline]
    while ours:
        found = _last_commit_in(ours[-_SCAN_SEGMENTS:])
        if found is not None:
            return found
        ours = ours[:-_SCAN_SEGMENTS]
    return None


def _last_commit_in(tail: list[Segment]) -> dt.datetime | None:
    # Only a contiguous run of segments can be read in one pass.
    while len(tail) > 1 and tail[-1].segno - tail[0].segno != len(tail) - 1:
        tail = tail[1:]
    with tempfile.TemporaryDirectory(prefix="factoryos-waldump-") as scratch:
        for segment in tail:
            extract(segment, Path(scratch) / segment.name)
        command = [str(find_tool("pg_waldump")), "--path", scratch, tail[0].name, tail[-1].name]
        run = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300,
                             env=tool_env(TZ="UTC"))  # fmt: skip
    found = _COMMIT.findall(run.stdout)
    return dt.datetime.fromisoformat(found[-1]).replace(tzinfo=dt.UTC) if found else None


def recovery_window(backup_directory: Path) -> RecoveryWindow:
    bases = list_base_backups(backup_directory)
    archive = segments(wal_dir(backup_directory))
    usable = [b for b in bases if any(s.timeline == b.timeline and s.segno >= b.first_segment for s in archive)]
    try:
        commit = last_commit(archive)
    except Exception:  # a damaged tail must not hide the window: a restore names the segment
        commit = None
    received = _received(backup_directory, archive)
    candidates = [t for t in (commit, received) if t is not None]
    earliest = min((b.finished_at for b in usable), default=None)
    latest = max(candidates, default=None) if usable else None
    return RecoveryWindow(earliest, latest, commit, bases)
