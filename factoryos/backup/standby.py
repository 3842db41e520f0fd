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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import DBAPIError

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
    "pg_last_xact_replay_timestamp() as replayed_at, now() as now, "
    "case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() <> 'not paused' else false end as paused"
)
# The primary sends WAL as far as it has flushed it, which may end inside a record that straddles a page
# boundary (an idle primary can leave it so for minutes): up to a page of received WAL the standby
# cannot replay yet, with nothing behind it.
_WAL_PAGE = 8192


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
    replay_paused: bool = False  # `pg_wal_replay_pause()` was called on it

    def to_json(self) -> dict[str, object]:
        return {"role": "standby" if self.in_recovery else "primary", "timeline": self.timeline,
                "streaming": self.streaming, "upstream": self.upstream, "received_lsn": self.received_lsn,
                "replayed_lsn": self.replayed_lsn, "behind_bytes": self.behind_bytes,
                "last_replayed_at": self.last_replayed_at.isoformat() if self.last_replayed_at else None,
                "lag_seconds": self.lag_seconds, "replay_paused": self.replay_paused}  # fmt: skip


def create_replication_role(admin_url: str, password: str, role: str = REPLICATION_ROLE) -> None:
    """The standby's own login (REPLICATION only, no table rights); its password set anew each time."""
    target, env = libpq_target(admin_url)
    with psycopg.connect(target, password=env.get("PGPASSWORD"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        verb = sql.SQL("alter role" if exists else "create role")
        # A role's password cannot be a bind parameter: quoted as a literal by the driver.
        conn.execute(sql.SQL("{} {} with login replication password {}").format(
            verb, sql.Identifier(role), sql.Literal(password)))  # fmt: skip


def database_identity(url: str) -> str:
    """The cluster's system identifier: made by initdb, kept by every copy (base backups, standbys), so
    it names the installation's database. Read over an ordinary login (the primary's administrator)."""
    target, env = libpq_target(url)
    with psycopg.connect(target, password=env.get("PGPASSWORD"), connect_timeout=10) as conn:
        row = conn.execute("select system_identifier::text from pg_control_system()").fetchone()
    assert row is not None
    return str(row[0])


def primary_identity(primary_url: str) -> str:
    """The system identifier as the standby's replication role sees it (IDENTIFY_SYSTEM: all such a
    role may ask, over the replication protocol, which takes simple queries only)."""
    target, env = libpq_target(primary_url)
    with psycopg.connect(target, password=env.get("PGPASSWORD"), replication="true", autocommit=True,
                         connect_timeout=10) as conn:  # fmt: skip
        result = conn.pgconn.exec_(b"IDENTIFY_SYSTEM")
        value = result.get_value(0, 0) if result.ntuples else None
    if value is None:
        raise StandbyError("the primary did not say which database it is (IDENTIFY_SYSTEM)", code="standby_clone_failed")
    return value.decode()


def clone(primary_url: str, pgdata: Path, *, expect_identity: str | None = None, timeout: float = 6 * 3600) -> None:
    """`pgdata` (absent or empty) becomes a standby of the primary at `primary_url` (a replication-capable
    login; its TLS settings, e.g. `sslmode=verify-full&sslrootcert=…`, go into the standby's conninfo).
    With `expect_identity` (`database_identity` of the intended primary), a primary of another
    installation is refused before anything is copied."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise StandbyError(f"{pgdata} is not empty: a standby is cloned into a new data directory",
                           code="standby_target_not_empty", status=409)  # fmt: skip
    if expect_identity is not None:
        found = primary_identity(primary_url)
        if found != expect_identity.strip():
            raise StandbyError(f"that primary belongs to another installation (database {found}, expected "
                               f"{expect_identity.strip()}): a standby is cloned only from its own primary",
                               code="standby_other_installation", status=409)  # fmt: skip
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
    return state_of(dict(row._mapping))


# The same question as one JSON row, for a database only `psql` in its container reaches (Compose).
STATE_AS_JSON = f"select row_to_json(s) from ({_STATE.text}) s"


def state_of(row: dict[str, Any]) -> ReplicaState:
    """A ReplicaState from the columns of _STATE (timestamps as datetimes or ISO strings)."""
    replayed_at, now = (_instant(row.get(name)) for name in ("replayed_at", "now"))
    behind = row.get("behind")
    lag: float | None = None
    if row["in_recovery"]:
        if behind == 0 or (behind is not None and behind < _WAL_PAGE and not row.get("paused")):
            lag = 0.0
        elif replayed_at is not None and now is not None:
            lag = max(0.0, (now - replayed_at).total_seconds())
    return ReplicaState(bool(row["in_recovery"]), int(row["timeline"]), row.get("receiver") == "streaming",
                        row.get("upstream"), row.get("received"), row.get("replayed"), behind, replayed_at, lag,
                        bool(row.get("paused")))  # fmt: skip


def _instant(value: object) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def promote(url: str, *, wait_seconds: int = 60) -> ReplicaState:
    """The standby becomes a primary (a new timeline); refused when it is one already.

    The promotion is only signalled (`pg_promote(false)`) and then watched with short queries: a session
    that waits inside pg_promote holds a snapshot through the rest of the replay, and a cleanup record
    from the busy primary can cancel it as a recovery conflict although the promotion goes on."""
    if not replica_state(url).in_recovery:
        raise Conflict("this database is already a primary: nothing to promote", code="standby_not_replica")
    engine = create_engine(normalize_db_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            signalled = conn.execute(text("select pg_promote(false)")).scalar_one()
            conn.commit()
    finally:
        engine.dispose()
    if not signalled:
        raise StandbyError("the standby refused the promotion signal", code="standby_promote_failed")
    state = wait_promoted(lambda: replica_state(url), wait_seconds)
    log.warning("standby promoted to primary on timeline %d", state.timeline)
    return state


def wait_promoted(ask: Callable[[], ReplicaState], wait_seconds: float) -> ReplicaState:
    """Polls `ask` until the database has left recovery. A failed question (a query cancelled by a
    replay conflict, the server restarting its connections at the end of recovery) is asked again."""
    deadline = time.monotonic() + wait_seconds
    failure = "it was still in recovery"
    while time.monotonic() < deadline:
        try:
            state = ask()
        except (StandbyError, DBAPIError) as exc:
            failure = str(exc).splitlines()[0]
        else:
            if not state.in_recovery:
                return state
        time.sleep(0.2)
    raise StandbyError(f"the standby did not finish its promotion within {wait_seconds:g} s: {failure}",
                       code="standby_promote_failed")  # fmt: skip


@dataclass(frozen=True)
class PeerLink:
    """How a paired primary reaches its standby's database to ask whether it was promoted: as the
    standby's replication role (the standby is a copy of the primary: the same role and password), over
    TLS checked against the installation's replication certificate. That role may ask nothing but which
    database and timeline the peer is on and whether it is in recovery (no table rights)."""

    host: str
    port: int
    password: str
    ca_file: Path | None  # None: TLS not required (a test's clusters on one host)
    role: str = REPLICATION_ROLE

    def conninfo(self) -> str:
        tls = f"sslmode=verify-ca sslrootcert={self.ca_file}" if self.ca_file else "sslmode=prefer"
        return f"host={self.host} port={self.port} user={self.role} {tls} " \
               f"application_name=factoryos-fence connect_timeout=5"  # fmt: skip


@dataclass(frozen=True)
class PeerState:
    identity: str  # system identifier: the peer is a copy of this installation's database, or not
    timeline: int
    in_recovery: bool


def peer_state(link: PeerLink) -> PeerState:
    """IDENTIFY_SYSTEM and `SHOW in_hot_standby` over a replication connection: all the standby's role may ask."""
    with psycopg.connect(link.conninfo(), password=link.password, replication="true", autocommit=True) as conn:
        found = conn.pgconn.exec_(b"IDENTIFY_SYSTEM")
        hot = conn.pgconn.exec_(b"SHOW in_hot_standby")
        if not found.ntuples or not hot.ntuples:
            raise StandbyError("the standby did not say which database it is", code="standby_failed")
        identity, timeline, standby = found.get_value(0, 0), found.get_value(0, 1), hot.get_value(0, 0)
    assert identity is not None and timeline is not None
    return PeerState(identity.decode(), int(timeline), standby == b"on")


def check_not_superseded(own_url: str, peer: str | PeerLink | None, data_dir: Path, *, quiet: bool = False) -> bool:
    """Run by a primary before it serves (and, paired in Compose, while it serves): refuse when its
    standby (`peer`: its superuser URL, or a `PeerLink`) was promoted since (out of recovery, on a later
    timeline). Remembered in `data_dir`, so a later start refuses even with the peer away; the
    administrator removes the marker once this host is rebuilt as the new standby. Returns False when the
    peer could not be asked (logged unless `quiet`: a watch asking every few seconds logs it itself)."""
    marker = data_dir / FENCE_FILE
    if marker.exists():
        raise Conflict(f"this database was superseded by its promoted standby ({marker.read_text().strip()}): it "
                       f"must not run as a second primary; rebuild it as a standby, then remove {marker}",
                       code="standby_superseded")  # fmt: skip
    if not peer:
        return True
    own = replica_state(own_url)
    try:
        if isinstance(peer, PeerLink):
            found = peer_state(peer)
            if found.identity != database_identity(own_url):  # not a copy of this database: not ours to heed
                log.warning("the standby at %s:%d is a copy of another database: not checked", peer.host, peer.port)
                return True
            in_recovery, timeline = found.in_recovery, found.timeline
        else:
            state = replica_state(peer)
            in_recovery, timeline = state.in_recovery, state.timeline
    except Exception as exc:  # the peer away: nothing to learn from it (the marker covers what was learnt)
        (log.debug if quiet else log.warning)("could not reach the standby to check for a promotion: %s",
                                              type(exc).__name__)  # fmt: skip
        return False
    if own.in_recovery or in_recovery or timeline <= own.timeline:
        return True
    note = f"the standby became primary on timeline {timeline}, seen {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(f".{FENCE_FILE}.new")
    tmp.write_text(note + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(marker)
    raise Conflict(f"this database was superseded by its promoted standby ({note}): it must not run as a second "
                   f"primary; rebuild it as a standby, then remove {marker}", code="standby_superseded")


# -- replication lag, as the primary sees its standbys (health, status, metrics) ----------------

# The archiver's pg_receivewal and a base backup's WAL stream are walsenders too, but not standbys.
_NOT_STANDBYS = ("factoryos-wal", "pg_basebackup")
_STANDBYS = text(
    "select coalesce(s.slot_name, nullif(r.application_name, ''), 'standby') as name, r.state, r.sync_state, "
    "pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint as lag_bytes, "
    "extract(epoch from r.replay_lag)::float8 as replay_lag "
    "from pg_stat_replication r left join pg_replication_slots s on s.active_pid = r.pid "
    "where not (r.application_name = any(:skip)) "
    "union all "
    # A standby's slot without its walsender: the standby is away (the primary keeps its WAL meanwhile).
    "select s.slot_name, 'disconnected', null, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint, null "
    "from pg_replication_slots s where s.slot_name = :slot and not s.active "
    "order by 1"
)


@dataclass(frozen=True)
class StandbyLag:
    name: str  # its replication slot (a standby without one: its application name)
    state: str  # streaming, catchup, startup, backup or disconnected
    lag_bytes: int | None  # WAL the primary wrote that the standby has not replayed
    lag_seconds: float | None  # replay_lag: how long a commit here took to be visible there


@dataclass(frozen=True)
class ReplicationStatus:
    role: str  # primary or standby
    rpo_seconds: int
    standbys: tuple[StandbyLag, ...] = ()
    # On a standby: its own state
    streaming: bool | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    replay_paused: bool = False

    @property
    def detail(self) -> str | None:
        if self.role == "standby":
            if not self.streaming:
                return "this server's database is a standby that is not streaming from its primary"
            if self.lag_seconds is not None and self.lag_seconds > self.rpo_seconds:
                return f"this standby is {self.lag_seconds:.0f} s behind its primary, more than the RPO of " \
                       f"{self.rpo_seconds} s"  # fmt: skip
            if self.replay_paused:
                return "replay is paused on this standby (`select pg_wal_replay_resume()` resumes it)"
            return "this server's database is a standby (read-only until `factoryos standby promote`)"
        for standby in self.standbys:
            if standby.state != "streaming":
                return f"standby {standby.name} is {standby.state}"
            if standby.lag_seconds is not None and standby.lag_seconds > self.rpo_seconds:
                return f"standby {standby.name} is {standby.lag_seconds:.0f} s behind, more than the RPO of " \
                       f"{self.rpo_seconds} s"  # fmt: skip
        return None

    @property
    def ok(self) -> bool:
        if self.role == "standby":
            return bool(self.streaming) and (self.lag_seconds or 0) <= self.rpo_seconds
        return all(s.state == "streaming" and (s.lag_seconds or 0) <= self.rpo_seconds for s in self.standbys)


def replication_status(url: str, rpo_seconds: int) -> ReplicationStatus | None:
    """The replication seen from the database at `url` (a superuser: pg_stat_replication's lags are
    hidden from other roles). None for a primary without standbys."""
    engine = create_engine(normalize_db_url(url), poolclass=pool.NullPool,
                           connect_args={"connect_timeout": 2, "options": "-c statement_timeout=2000"})  # fmt: skip
    try:
        with engine.connect() as conn:
            in_recovery = conn.execute(text("select pg_is_in_recovery()")).scalar_one()
            rows = [] if in_recovery else conn.execute(_STANDBYS, {"skip": list(_NOT_STANDBYS), "slot": SLOT}).all()
    finally:
        engine.dispose()
    if in_recovery:
        own = replica_state(url)
        return ReplicationStatus("standby", rpo_seconds, streaming=own.streaming, lag_bytes=own.behind_bytes,
                                 lag_seconds=own.lag_seconds, replay_paused=own.replay_paused)  # fmt: skip
    if not rows:
        return None
    standbys = tuple(
        StandbyLag(row.name, row.state or "unknown", row.lag_bytes,
                   # replay_lag is null once an idle standby has replayed everything
                   row.replay_lag if row.replay_lag is not None
                   else (0.0 if row.lag_bytes == 0 and row.state == "streaming" else None))
        for row in rows
    )  # fmt: skip
    return ReplicationStatus("primary", rpo_seconds, standbys)


class ReplicationMonitor:
    """`replication_status` read in the background at most every `ttl` s: health is public, polled
    often and promised within 2 s, and a frozen database must not hold it (nor the metrics) up."""

    def __init__(self, url: str, rpo_seconds: int, ttl: float = 5.0) -> None:
        self.url, self.rpo_seconds, self.ttl = url, rpo_seconds, ttl
        self._read_at: float | None = None
        self._last: ReplicationStatus | None = None
        self._reading: threading.Thread | None = None
        self._lock = threading.Lock()

    def status(self, first_wait: float = 0.5) -> ReplicationStatus | None:
        with self._lock:
            first = self._read_at is None
            stale = self._read_at is None or time.monotonic() - self._read_at >= self.ttl
            if stale and (self._reading is None or not self._reading.is_alive()):
                self._read_at = time.monotonic()
                self._reading = threading.Thread(target=self._read, name="replication status", daemon=True)
                self._reading.start()
            reading = self._reading
        if first and reading is not None:
            reading.join(first_wait)  # the first answer usually has it; later ones show the last reading
        return self._last

    def _read(self) -> None:
        try:
            self._last = replication_status(self.url, self.rpo_seconds)
        except Exception as exc:  # the database's own health says why; this part stays as last read
            log.debug("replication status unreadable: %s", type(exc).__name__)
