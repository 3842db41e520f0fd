"""Who runs the installation's duties (polling, scheduled backups, webhooks, MQTT publishing): a
PostgreSQL session-level advisory lock held on a dedicated connection.

Every server process on every host that shares the database competes for the one lock, so the
duties run once per installation however the API is split. PostgreSQL releases the lock when the
holder's session ends (its process died, its connection was closed or terminated, or the server's
keepalives found its host gone), and a waiting process takes it on its next try. Advisory locks
need no privilege: the app role (no superuser, RLS-bound) takes them.

A lock released by a dead session says nothing about whether its old holder has stopped: a holder
cut off from the database may still be polling. So the holder checks its connection every
`check_seconds`, each check bounded by `check_timeout`, and steps down when a check fails; a new
holder waits `takeover_delay` (longer than those two together) before it starts the duties.

Advisory locks are per database, so installations on one PostgreSQL cluster do not compete. The
holder names itself in its session's `application_name` (host, pid, since): `holder()` reads it
back from `pg_stat_activity` for status and health, without a table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

log = logging.getLogger(__name__)

# One 64-bit key for the installation's duties ("FOSDUTY1" in ASCII): any other advisory lock in
# this database uses its own key.
DUTY_KEY = 0x464F534455545931
NAME_PREFIX = "factoryos-duties"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass(frozen=True)
class DutyHolder:
    host: str
    pid: int
    since: datetime | None

    def describe(self) -> str:
        since = f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return f"held by host {self.host} pid {self.pid}{since}"


def _name(host: str, pid: int, since: datetime) -> str:
    # application_name keeps 63 bytes: the host name is what gets cut.
    tail = f" {pid} {since:%Y%m%dT%H%M%S}"
    return f"{NAME_PREFIX} {host}"[: 63 - len(tail)] + tail


def parse_name(name: str) -> DutyHolder | None:
    parts = name.split(" ")
    if len(parts) != 4 or parts[0] != NAME_PREFIX:
        return None
    try:
        since = datetime.strptime(parts[3], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return DutyHolder(parts[1], int(parts[2]), since)
    except ValueError:
        return None


def holder(conn: psycopg.Connection) -> DutyHolder | None:
    """The session holding the duties now (None: nobody). Any role that can see its own sessions in
    `pg_stat_activity` reads this: the duty connections log in as the app role."""
    row = conn.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.database = "
        "(select oid from pg_database where datname = current_database()) "
        "and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        (DUTY_KEY,),
    ).fetchone()
    if row is None:
        return None
    return parse_name(row[0] or "") or DutyHolder("?", 0, None)


class DutyLock:
    """The duty lock of one process. `try_acquire` and `check` are coroutines run by the server's
    duty loop (`server.duties`); nothing here starts or stops the duties themselves."""

    def __init__(self, database_url: str, *, check_seconds: float = 2.0, check_timeout: float = 2.0,
                 retry_seconds: float = 2.0, host: str | None = None) -> None:
        self.url = _libpq(database_url)
        self.check_seconds = check_seconds
        self.check_timeout = check_timeout
        self.retry_seconds = retry_seconds
        self.host = host or socket.gethostname()
        self._conn: psycopg.AsyncConnection | None = None
        self.held_since: datetime | None = None

    @property
    def takeover_delay(self) -> float:
        """How long a new holder waits before it starts: an old holder that lost the lock without
        knowing has found out (a check, then one bounded try to take the lock again) and stopped by then."""
        return self.check_seconds + 2 * self.check_timeout + 1.0

    @property
    def held(self) -> bool:
        return self.held_since is not None

    async def _connect(self) -> psycopg.AsyncConnection:
        # Keepalives both ways: the client learns of a dead link within the check's bound, the server
        # ends a vanished holder's session (releasing the lock) in seconds rather than the OS's hours.
        conn = await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=max(2, round(self.check_timeout)),
            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
            tcp_user_timeout=int(self.check_timeout * 1000), application_name=f"{NAME_PREFIX} waiting")
        await conn.execute("select set_config('tcp_keepalives_idle', '5', false), "
                           "set_config('tcp_keepalives_interval', '2', false), "
                           "set_config('tcp_keepalives_count', '3', false), "
                           "set_config('tcp_user_timeout', %s, false)", (str(int(self.check_timeout * 1000)),))
        return conn

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now. Bounded by
        `check_timeout`, connecting included."""
        if self.held:
            return True
        since = datetime.now(UTC).replace(microsecond=0)
        try:
            got = await asyncio.wait_for(self._try(_name(self.host, os.getpid(), since)), self.check_timeout)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.debug("duty lock: database not reachable (%s)", type(exc).__name__)
            await self._drop()
            return False
        if got:
            self.held_since = since
        return got

    async def _try(self, name: str) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = await self._connect()
        cur = await self._conn.execute("select pg_try_advisory_lock(%s)", (DUTY_KEY,))
        row = await cur.fetchone()
        got = bool(row and row[0])
        await self._conn.execute("select set_config('application_name', %s, false)",
                                 (name if got else f"{NAME_PREFIX} waiting",))
        return got

    async def check(self) -> bool:
        """Still the holder? A failed or slow check counts as lost: the connection is dropped (which
        releases the lock, should the session still be alive) and the caller steps down."""
        if not self.held or self._conn is None:
            return False
        try:
            cur = await asyncio.wait_for(self._conn.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and granted and pid = pg_backend_pid() "
                "and objsubid = 1 and ((classid::bigint << 32) | objid::bigint) = %s", (DUTY_KEY,)), self.check_timeout)
            row = await cur.fetchone()
            if row is not None and row[0] > 0:
                return True
            log.warning("the duty lock is gone from this process's session")
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.warning("lost the duty connection (%s)", type(exc).__name__)
        await self._drop()
        return False

    async def release(self) -> None:
        """Give the lock up (after the duties have stopped) and close the connection."""
        if self._conn is not None and self.held:
            with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
                await asyncio.wait_for(self._conn.execute("select pg_advisory_unlock(%s)", (DUTY_KEY,)),
                                       self.check_timeout)
        await self._drop()

    async def _drop(self) -> None:
        self.held_since = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead link: nothing to say goodbye to
                await asyncio.wait_for(conn.close(), 1.0)

    def backend_pid(self) -> int | None:
        """The PostgreSQL process of the duty connection (tests end it to show a takeover)."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None
