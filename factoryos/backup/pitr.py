"""Point-in-time restore of the embedded cluster: base backup + archived WAL, into a scratch
cluster first, checked, then swapped in for `<data dir>/pg`; the live cluster is kept aside
as `pg.replaced-STAMP` until the administrator discards it.

Nothing of the live cluster is touched before the swap: a time outside the window, a missing or
damaged WAL segment, a recovery that stops short or a restored copy whose audit chains do not
verify all end the restore with the live data as it was. Run with the server stopped (the
embedded lock is held throughout). The WAL archive and base backups of the replaced history move
aside with it (`pitr-replaced-STAMP/`): the restored cluster starts a new timeline, archived anew
from a fresh base backup.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from sqlalchemy import create_engine, pool

from factoryos.backup.basebackup import BASE_DIR, BaseBackup
from factoryos.backup.errors import RestoreFailed
from factoryos.backup.facts import read_facts
from factoryos.backup.lock import exclusive
from factoryos.backup.pgtools import find_tool
from factoryos.backup.restore import ChainCheck, _verify_chains
from factoryos.backup.wal import WAL_DIR, Segment, segno_of, stage, wal_dir
from factoryos.backup.window import RecoveryWindow, recovery_window
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.errors import ValidationFailed

Progress = Callable[[str], None]

# A recovery that replays nothing new (no WAL position moved, no segment restored) for STALL_SECONDS
# is stuck, whatever the size of the archive; RECOVERY_LIMIT_SECONDS caps even a progressing one.
STALL_SECONDS = 120.0
RECOVERY_LIMIT_SECONDS = 1800.0
_POLL_SECONDS = 0.5
_ERROR_AT = re.compile(r"at ([0-9A-F]+/[0-9A-F]+)")
_SYSTEM_USER = "pgserver"  # the user pgserver runs PostgreSQL as when started by root


@dataclass(frozen=True)
class PitrReport:
    target: dt.datetime | None  # None: to the end of the archive
    base_backup: str
    restored_to: dt.datetime | None  # commit time of the last transaction replayed
    tables: int
    rows: int
    kept_aside: Path | None
    archive_aside: Path | None
    seconds: float
    chains: list[ChainCheck] = field(default_factory=list)


def parse_target(value: str, zone: str | None = None) -> dt.datetime:
    """`2026-12-03 14:05` in `zone` (an IANA name; default: the host's local time zone), or an
    instant with an offset (`2026-12-03T14:05+01:00`, `…Z`)."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a time: write e.g. '2026-12-03 14:05' or '2026-12-03T14:05+01:00'",
                               code="pitr_time_invalid", field="to") from None  # fmt: skip
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC)
    if zone:
        try:
            return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(f"unknown time zone {zone!r}", code="pitr_time_invalid", field="zone") from None
    return moment.astimezone().astimezone(dt.UTC)  # naive ⇒ the host's local time


def check_target(window: RecoveryWindow, target: dt.datetime | None) -> BaseBackup:
    """The base backup to start from; a target outside the window is refused with the window named."""
    if window.empty:
        raise RestoreFailed(f"no point-in-time recovery possible: {window.describe()}", code="pitr_outside_window",
                            status=422)  # fmt: skip
    assert window.earliest is not None and window.latest is not None
    if target is not None and not window.earliest <= target <= window.latest:
        raise RestoreFailed(f"{target:%Y-%m-%d %H:%M:%S} UTC is outside the recovery window, {window.describe()}",
                            code="pitr_outside_window", status=422)  # fmt: skip
    moment = target or window.latest
    candidates = [b for b in window.base_backups if b.finished_at <= moment]
    return candidates[0]  # newest first; the window's earliest is the oldest one's end


def restore_to_time(data_dir: Path, backup_directory: Path, database: str, target: dt.datetime | None, *,
                    progress: Progress | None = None) -> PitrReport:  # fmt: skip
    """Replace `<data_dir>/pg` with the cluster as of `target` (None: the newest archived state)."""
    say = progress or (lambda message: None)
    started = time.monotonic()
    with exclusive(backup_directory), _embedded_lock(data_dir):
        window = recovery_window(backup_directory)
        base = check_target(window, target)
        # A target at or after the last commit is the archive's end: PostgreSQL would wait for a
        # later commit to recognise the target and, finding none, refuse.
        stop_at = target if target is not None and window.last_commit is not None and target < window.last_commit \
            else None
        work = data_dir / ".pitr"
        shutil.rmtree(work, ignore_errors=True)
        try:
            scratch, restored_to, facts, chains = _recover(work, backup_directory, base, database, stop_at, say)
            say("replacing the live cluster")
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = _swap(data_dir, scratch, stamp)
            archive_aside = set_archive_aside(backup_directory, stamp)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return PitrReport(target, base.name, restored_to, len(facts.row_counts), sum(facts.row_counts.values()), aside,
                      archive_aside, time.monotonic() - started, chains)  # fmt: skip


@contextmanager
def _embedded_lock(data_dir: Path) -> Iterator[None]:
    holder = EmbeddedPostgres(data_dir)
    holder._acquire_lock()  # raises EmbeddedLocked while a server runs on it
    try:
        yield
    finally:
        holder._release_lock()


def _recover(work: Path, backup_directory: Path, base: BaseBackup, database: str, stop_at: dt.datetime | None,
             say: Progress):  # type: ignore[no-untyped-def]
    scratch, staging = work / "pg", work / "wal"
    staging.mkdir(parents=True)
    say(f"checking the WAL archive from {base.name}")
    staged = stage(wal_dir(backup_directory), base.timeline, base.first_segment, staging)
    _check_records(staging, staged)
    say(f"unpacking base backup {base.name}")
    _unpack(base, scratch)
    user = _system_user(work.parent / "pg")
    for path in (work, scratch, staging):
        _own(path, user)
    if user is not None:
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(scratch)  # as pgserver does for the live cluster: its user must reach it
    say("replaying the WAL" + (f" to {stop_at:%Y-%m-%d %H:%M:%S} UTC" if stop_at else " to its end"))
    with _scratch_server(scratch, staging, stop_at, user) as socket_dir:
        say("checking row counts and audit chains")
        return (scratch, *check_restored(socket_dir, database))


def _check_records(staging: Path, staged: list[Segment]) -> None:
    """pg_waldump reads every staged record."""
    command = [str(find_tool("pg_waldump")), "--quiet", "--path", str(staging), staged[0].name, staged[-1].name]
    run = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if run.returncode != 0:
        check_waldump_errors(run.stderr, staged)


def check_waldump_errors(stderr: str, staged: list[Segment]) -> None:
    """From pg_waldump's errors over `staged`: a record that breaks before the last segment names a
    damaged one (in the last, it is where the WAL ends)."""
    # "error in WAL record at A: <what> at B": B is where reading broke, A the record before it.
    places = _ERROR_AT.findall(stderr)
    if not places:
        raise RestoreFailed(f"pg_waldump cannot read the archived WAL: {stderr.strip()[-300:]}",
                            code="wal_segment_corrupt")  # fmt: skip
    high, low = places[-1].split("/")
    segno = segno_of((int(high, 16) << 32) | int(low, 16))
    if segno < staged[-1].segno:
        name = next((s.name for s in staged if s.segno == segno), staged[0].name)
        raise RestoreFailed(f"WAL segment {name} in the archive is damaged ({stderr.strip().splitlines()[-1]}): "
                            "the restore stopped; the live database was not touched", code="wal_segment_corrupt")


def _unpack(base: BaseBackup, scratch: Path) -> None:
    scratch.mkdir(mode=0o700)
    with tarfile.open(base.path / "base.tar.gz") as tar:
        tar.extractall(scratch, filter="tar")
    with tarfile.open(base.path / "pg_wal.tar.gz") as tar:
        tar.extractall(scratch / "pg_wal", filter="tar")
    # Leftovers of the live cluster's process bookkeeping, not data.
    for name in (".handle_pids.json", "postmaster.opts", "log"):
        (scratch / name).unlink(missing_ok=True)
    # A base backup keeps the socket's lock file when the socket lives in the data directory (the
    # embedded server): it names the live server's PID, so the restored one would refuse to start.
    for lock in scratch.glob(".s.PGSQL.*.lock"):
        lock.unlink()
    (scratch / "recovery.signal").touch()


def _system_user(live: Path) -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, pgserver runs it as its own system user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        return pwd.getpwuid(live.stat().st_uid) if live.exists() else None


def _own(path: Path, user: pwd.struct_passwd | None) -> None:
    path.chmod(0o700)
    if user is None:
        return
    for root, _dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


@contextmanager
def _scratch_server(scratch: Path, staging: Path, stop_at: dt.datetime | None,
                    user: pwd.struct_passwd | None) -> Iterator[str]:  # fmt: skip
    """Recover and promote in the scratch cluster; yields its socket directory while it runs."""
    socket_dir = Path(tempfile.mkdtemp(prefix="fo-pitr-"))
    if user is not None:
        os.chown(socket_dir, user.pw_uid, user.pw_gid)
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": str(socket_dir),
        "restore_command": f"cp {staging}/%f %p",  # our own path: no quotes or spaces in it
        "recovery_target_action": "promote",
        "archive_mode": "off",
        "logging_collector": "off",
    }
    if stop_at is not None:
        settings["recovery_target_time"] = stop_at.isoformat()
    command = [str(find_tool("postgres")), "-D", str(scratch)]
    for key, value in settings.items():
        command += ["-c", f"{key}={value}"]
    log_path = scratch.parent / "recovery.log"
    with log_path.open("wb") as server_log:
        process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT,
                                   user=user.pw_uid if user else None, group=user.pw_gid if user else None)  # fmt: skip
    try:
        _wait_promoted(process, str(socket_dir), log_path)
        yield str(socket_dir)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: a clean checkpoint before the swap
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(socket_dir, ignore_errors=True)


def _wait_promoted(process: subprocess.Popen[bytes], socket_dir: str, log_path: Path) -> None:
    wait_promoted(lambda: process.poll() is None, socket_dir,
                  lambda: log_path.read_text(errors="replace").splitlines())  # fmt: skip


def wait_promoted(running: Callable[[], bool], socket_dir: str, log_lines: Callable[[], list[str]], *,
                  stall_seconds: float = STALL_SECONDS, limit_seconds: float = RECOVERY_LIMIT_SECONDS) -> None:  # fmt: skip
    """Until the recovering server (reached over `socket_dir`) has promoted. Fails with the reason
    (its FATAL line, or its last log lines) when it exits, makes no progress for `stall_seconds` or
    is not done after `limit_seconds`. Progress: the replay position moves or a segment is restored
    (before the cluster is consistent it accepts no connections, so the log is the only sign)."""
    started = last_progress = time.monotonic()
    seen: tuple[str | None, int] | None = None
    connect_error = ""
    while True:
        alive = running()
        lines = log_lines()
        if not alive:
            raise RestoreFailed(f"recovery stopped: {fatal_line(lines)}; the live database was not touched",
                                code="restore_failed")  # fmt: skip
        replayed: str | None = None
        try:
            with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", connect_timeout=5) as conn:
                row = conn.execute("select pg_is_in_recovery(), pg_last_wal_replay_lsn()::text").fetchone()
                if row is not None and not row[0]:
                    return
                replayed = row[1] if row is not None else None
        except psycopg.OperationalError as exc:
            connect_error = (str(exc).strip().splitlines() or [""])[-1]  # starting, or not yet consistent
        marker = (replayed, sum("restored log file" in line for line in lines))
        now = time.monotonic()
        if marker != seen:
            seen, last_progress = marker, now
        stalled, too_long = now - last_progress > stall_seconds, now - started > limit_seconds
        if stalled or too_long:
            tail = " | ".join(line.strip() for line in lines[-3:] if line.strip()) or "no log"
            if replayed is None and connect_error:
                tail += f"; connecting to it: {connect_error}"
            what = (f"made no progress for {stall_seconds:.0f} s" if stalled
                    else f"did not finish within {limit_seconds:.0f} s")  # fmt: skip
            raise RestoreFailed(f"recovery {what} (last at {replayed or 'an unknown position'}: {tail}); "
                                "the live database was not touched", code="restore_failed")  # fmt: skip
        time.sleep(_POLL_SECONDS)


def fatal_line(lines: list[str]) -> str:
    fatal = [line.split("FATAL:", 1)[1].strip() for line in lines if "FATAL:" in line]
    return fatal[-1] if fatal else (lines[-1] if lines else "no message")


def check_restored(socket_dir: str, database: str):  # type: ignore[no-untyped-def]
    """Like a dump's restore: the database is there at a known schema, counts read, chains verify."""
    url = f"postgresql+psycopg://postgres@/{database}?host={socket_dir}"
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            facts = read_facts(conn)
            if facts.schema_revision is None:
                raise RestoreFailed(f"the restored cluster has no FactoryOS schema in {database!r}",
                                    code="restore_verify_failed")  # fmt: skip
            chains = _verify_chains(conn, facts)
            restored_to = conn.exec_driver_sql("select pg_last_xact_replay_timestamp()").scalar()
    except psycopg.OperationalError as exc:
        raise RestoreFailed(f"the restored cluster has no database {database!r}: {exc}",
                            code="restore_verify_failed") from None  # fmt: skip
    except Exception as exc:
        if isinstance(exc, RestoreFailed):
            raise
        raise RestoreFailed(f"the restored database cannot be read: {exc}", code="restore_verify_failed") from None
    finally:
        engine.dispose()
    return restored_to, facts, chains


def _swap(data_dir: Path, scratch: Path, stamp: str) -> Path | None:
    live = data_dir / "pg"
    aside = data_dir / f"pg.replaced-{stamp}"
    kept = None
    if live.exists():
        live.rename(aside)
        kept = aside
    try:
        scratch.rename(live)
    except BaseException:
        if kept is not None:
            aside.rename(live)
        raise
    return kept


def set_archive_aside(backup_directory: Path, stamp: str) -> Path | None:
    """The replaced history's WAL archive and base backups move aside: the restored cluster is archived anew."""
    aside = backup_directory / f"pitr-replaced-{stamp}"
    moved = False
    for name in (WAL_DIR, BASE_DIR):
        if (backup_directory / name).exists():
            aside.mkdir(mode=0o700, exist_ok=True)
            (backup_directory / name).rename(aside / name)
            moved = True
    return aside if moved else None


def replaced(data_dir: Path, backup_directory: Path) -> list[Path]:
    """What restores kept aside (old clusters and their WAL archives), and archives of a cluster since
    re-created (`factoryos.backup.continuous`), oldest first."""
    found = sorted(data_dir.glob("pg.replaced-*")) + sorted(backup_directory.glob("pitr-replaced-*")) \
        + sorted(backup_directory.glob("pitr-other-cluster-*"))
    return [p for p in found if p.is_dir()]


def discard_replaced(data_dir: Path, backup_directory: Path) -> list[Path]:
    gone = replaced(data_dir, backup_directory)
    for path in gone:
        shutil.rmtree(path)
    return gone
