"""Warm standby: a streaming replica cloned from the primary, its state and lag, its promotion, and
the fencing check that keeps a superseded primary from running as a second primary.

The replica is a `pg_basebackup -R` of the primary through a physical replication slot (the
primary keeps every WAL segment the standby has not received, across restarts of either) with its
own replication role. After a promotion the standby is a primary on the next timeline; the old
primary, when it comes back, finds its peer out of recovery on a later timeline than its own and
refuses to serve, and a marker in its data directory keeps refusing even when the peer is away.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, pool, text

from factoryos.backup.errors import BackupError
from factoryos.backup.pgtools import find_tool, libpq_target
from factoryos.backup.pitr import _own, _system_user
from factoryos.config import normalize_db_url
from factoryos.errors import Conflict

log = logging.getLogger(__name__)

REPLICATION_ROLE = "factoryos_standby"
SLOT = "factoryos_standby"
FENCE_FILE = "FENCED-superseded-primary"
# Process bookkeeping of the primary that pg_basebackup copies along: not data.
_LEFTOVERS = (".s.PGSQL.5432.lock", ".handle_pids.json", "postmaster.opts", "log")

_STATE = text(
    "select pg_is_in_recovery() as in_recovery, "
    "case when pg_is_in_recovery() then (select timeline_id from pg_control_checkpoint()) "
    "     else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline, "
    "(select status from pg_stat_wal_receiver) as receiver, "
    "(select sender_host from pg_stat_wal_receiver) as upstream, "
    "pg_last_wal_receive_lsn()::text as received, pg_last_wal_replay_lsn()::text as replayed, "
    "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint as behind, "
    "pg_last_xact_replay_timestamp() as replayed_at, now() as now"
)


class StandbyError(BackupError):
    code = "standby_failed"
    title = "Standby failed"


@dataclass(frozen=True)
class ReplicaState:
    in_recovery: bool  # False: this cluster is a primary
    timeline: int
    streaming: bool  # receiving WAL from its primary right now
    upstream: str | None
    received_lsn: str | None
    replayed_lsn: str | None
    behind_bytes: int | None  # received, not yet replayed
    last_replayed_at: dt.datetime | None  # commit time of the last transaction replayed
    lag_seconds: float | None  # 0 when all received WAL is replayed; else the age of the last replayed commit

    def to_json(self) -> dict[str, object]:
        return {"role": "standby" if self.in_recovery else "primary", "timeline": self.timeline,
                "streaming": self.streaming, "upstream": self.upstream, "received_lsn": self.received_lsn,
                "replayed_lsn": self.replayed_lsn, "behind_bytes": self.behind_bytes,
                "last_replayed_at": self.last_replayed_at.isoformat() if self.last_replayed_at else None,
                "lag_seconds": self.lag_seconds}  # fmt: skip


def create_replication_role(admin_url: str, password: str, role: str = REPLICATION_ROLE) -> None:
    """The standby's own login (REPLICATION only, no table rights); its password set anew each time."""
    target, env = libpq_target(admin_url)
    with psycopg.connect(target, password=env.get("PGPASSWORD"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        verb = sql.SQL("alter role" if exists else "create role")
        # A role's password cannot be a bind parameter: quoted as a literal by the driver.
        conn.execute(sql.SQL("{} {} with login replication password {}").format(
            verb, sql.Identifier(role), sql.Literal(password)))  # fmt: skip


def clone(primary_url: str, pgdata: Path, *, timeout: float = 6 * 3600) -> None:
    """`pgdata` (absent or empty) becomes a standby of the primary at `primary_url` (a replication-capable
    login; its TLS settings, e.g. `sslmode=verify-full&sslrootcert=…`, go into the standby's conninfo)."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise StandbyError(f"{pgdata} is not empty: a standby is cloned into a new data directory",
                           code="standby_target_not_empty", status=409)  # fmt: skip
    target, env = libpq_target(primary_url)
    command = [str(find_tool("pg_basebackup")), f"--dbname={target}", "--no-password", "-D", str(pgdata),
               "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast", "--create-slot",
               f"--slot={SLOT}", "--label=factoryos standby"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=timeout)
    if run.returncode != 0:
        lines = [line for line in run.stderr.strip().splitlines() if "skipping special file" not in line]
        raise StandbyError(f"cloning the primary failed: {lines[-1] if lines else f'exit {run.returncode}'}",
                           code="standby_clone_failed")  # fmt: skip
    for name in _LEFTOVERS:
        (pgdata / name).unlink(missing_ok=True)
    user = _system_user(pgdata)
    _own(pgdata, user)  # as root, PostgreSQL runs as its own system user: it must own the copy


def replica_state(url: str) -> ReplicaState:
    engine = create_engine(normalize_db_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(_STATE).one()
    finally:
        engine.dispose()
    lag: float | None = None
    if row.in_recovery:
        if row.behind == 0:
            lag = 0.0
        elif row.replayed_at is not None:
            lag = max(0.0, (row.now - row.replayed_at).total_seconds())
    return ReplicaState(bool(row.in_recovery), int(row.timeline), row.receiver == "streaming", row.upstream,
                        row.received, row.replayed, row.behind, row.replayed_at, lag)  # fmt: skip


def promote(url: str, *, wait_seconds: int = 60) -> ReplicaState:
    """The standby becomes a primary (a new timeline); refused when it is one already."""
    if not replica_state(url).in_recovery:
        raise Conflict("this database is already a primary: nothing to promote", code="standby_not_replica")
    engine = create_engine(normalize_db_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            done = conn.execute(text("select pg_promote(true, :wait)"), {"wait": wait_seconds}).scalar_one()
            conn.commit()
    finally:
        engine.dispose()
    if not done:
        raise StandbyError(f"the standby did not finish its promotion within {wait_seconds} s",
                           code="standby_promote_failed")  # fmt: skip
    deadline = time.monotonic() + wait_seconds
    while (state := replica_state(url)).in_recovery and time.monotonic() < deadline:
        time.sleep(0.2)
    log.warning("standby promoted to primary on timeline %d", state.timeline)
    return state


def check_not_superseded(own_url: str, peer_url: str | None, data_dir: Path) -> None:
    """Run by a primary before it serves: refuse when its standby (`peer_url`) was promoted since (out
    of recovery, on a later timeline). Remembered in `data_dir`, so a later start refuses even with the
    peer away; the administrator removes the marker once this host is rebuilt as the new standby."""
    marker = data_dir / FENCE_FILE
    if marker.exists():
        raise Conflict(f"this database was superseded by its promoted standby ({marker.read_text().strip()}): it "
                       f"must not run as a second primary; rebuild it as a standby, then remove {marker}",
                       code="standby_superseded")  # fmt: skip
    if not peer_url:
        return
    own = replica_state(own_url)
    try:
        peer = replica_state(peer_url)
    except Exception as exc:  # the peer away: nothing to learn from it (the marker covers what was learnt)
        log.warning("could not reach the standby to check for a promotion: %s", type(exc).__name__)
        return
    if own.in_recovery or peer.in_recovery or peer.timeline <= own.timeline:
        return
    note = f"the standby became primary on timeline {peer.timeline}, seen {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    marker.write_text(note + "\n")
    os.chmod(marker, 0o600)
    raise Conflict(f"this database was superseded by its promoted standby ({note}): it must not run as a second "
                   f"primary; rebuild it as a standby, then remove {marker}", code="standby_superseded")
