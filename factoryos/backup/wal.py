"""The WAL archive: `<backup dir>/wal/`, filled by pg_receivewal, completed segments gzipped.

Names are PostgreSQL's: `TTTTTTTTLLLLLLLLSSSSSSSS` (timeline, log, segment), 16 MiB each.
pg_receivewal streams the current segment into `NAME.partial` and renames it once complete;
`compress_completed` then turns `NAME` into `NAME.gz` (written aside, fsynced, renamed, and
never over a different existing file). pg_receivewal reads `.gz` names when it resumes.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from factoryos.backup.errors import RestoreFailed

log = logging.getLogger(__name__)

WAL_DIR = "wal"
SEGMENT_SIZE = 16 * 1024 * 1024
_PER_LOG = 0x1_0000_0000 // SEGMENT_SIZE
_NAME = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\.gz|\.partial)?$")
_WRITING = ".compressing"


@dataclass(frozen=True, order=True)
class Segment:
    timeline: int
    segno: int
    path: Path
    partial: bool = False

    @property
    def name(self) -> str:
        return segment_name(self.timeline, self.segno)


def wal_dir(backup_directory: Path) -> Path:
    return backup_directory / WAL_DIR


def segment_name(timeline: int, segno: int) -> str:
    return f"{timeline:08X}{segno // _PER_LOG:08X}{segno % _PER_LOG:08X}"


def lsn_to_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def segno_of(lsn: int) -> int:
    return lsn // SEGMENT_SIZE


def segments(directory: Path) -> list[Segment]:
    """Segments in the archive, oldest first (a finished segment wins over a leftover partial)."""
    found: dict[tuple[int, int], Segment] = {}
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    for path in entries:
        match = _NAME.match(path.name)
        if not match:
            continue
        tli, high, low, suffix = match.groups()
        segment = Segment(int(tli, 16), int(high, 16) * _PER_LOG + int(low, 16), path, suffix == ".partial")
        key = (segment.timeline, segment.segno)
        if key not in found or found[key].partial:
            found[key] = segment
    return sorted(found.values())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compress_completed(directory: Path) -> int:
    """gzip every completed, uncompressed segment; returns how many. A `.gz` already there with
    other content is left alone and the plain segment kept (nothing is ever overwritten)."""
    done = 0
    for segment in segments(directory):
        if segment.partial or segment.path.suffix == ".gz":
            continue
        target = segment.path.with_name(segment.name + ".gz")
        if target.exists():
            log.error("WAL segment %s is archived twice; keeping both (compare them by hand)", segment.name)
            continue
        aside = target.with_name(target.name + _WRITING)
        with segment.path.open("rb") as source, aside.open("wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
                shutil.copyfileobj(source, out, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        aside.chmod(0o600)
        os.link(aside, target)  # fails rather than replace a file that appeared meanwhile
        aside.unlink()
        _fsync_dir(directory)
        segment.path.unlink()
        done += 1
    return done


def extract(segment: Segment, target: Path) -> None:
    """The segment's 16 MiB as `target`, decompressed; a damaged one is named."""
    try:
        if segment.path.suffix == ".gz":
            with gzip.open(segment.path, "rb") as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        else:
            shutil.copyfile(segment.path, target)
        size = target.stat().st_size
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise RestoreFailed(f"WAL segment {segment.name} in the archive is unreadable ({exc}): the restore "
                            "stopped; the live database was not touched", code="wal_segment_corrupt") from None
    if size != SEGMENT_SIZE:
        raise RestoreFailed(f"WAL segment {segment.name} in the archive has {size} bytes, not {SEGMENT_SIZE}: "
                            "the restore stopped; the live database was not touched", code="wal_segment_corrupt")


def stage(directory: Path, timeline: int, first: int, into: Path) -> list[Segment]:
    """Copy segments `first`… of `timeline` into `into` for restore_command, checking that none is
    missing on the way (the archive's newest segment may be a partial one: it ends the WAL)."""
    chain = [s for s in segments(directory) if s.timeline == timeline and s.segno >= first]
    expected = first
    for segment in chain:
        if segment.segno != expected:
            missing = segment_name(timeline, expected)
            raise RestoreFailed(f"WAL segment {missing} is missing from the archive: the restore stopped; the live "
                                "database was not touched", code="wal_segment_missing")
        if segment.partial and segment is not chain[-1]:
            raise RestoreFailed(f"WAL segment {segment.name} is incomplete (.partial) but not the newest: "
                                "the restore stopped", code="wal_segment_corrupt")
        extract(segment, into / segment.name)
        expected += 1
    if not chain:
        raise RestoreFailed(f"WAL segment {segment_name(timeline, first)} is missing from the archive: the "
                            "restore stopped; the live database was not touched", code="wal_segment_missing")
    return chain


def remove_before(directory: Path, timeline: int, segno: int) -> int:
    """Delete segments older than (`timeline`, `segno`): the oldest kept base backup needs none of them."""
    removed = 0
    for segment in segments(directory):
        if (segment.timeline, segment.segno) < (timeline, segno):
            segment.path.unlink(missing_ok=True)
            removed += 1
    return removed
