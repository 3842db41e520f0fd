"""Is the database there? An answer within a deadline, whatever the database does.

The health engine's timeouts (connect, statement) bound a slow database, but a database that
does not run at all (its processes stopped or frozen, its host silent) enforces no statement
timeout and libpq then waits on the socket for ever. So the check runs in a thread of its own
and the caller waits at most `deadline` seconds. A check still hanging is shared by the callers
that come after it rather than joined by another: at most one thread is ever stuck, and it
finishes by itself once the database answers again.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from factoryos.db.migrate import current_revision
from factoryos.duties import DutyHolder, holder

DEADLINE = 1.5  # s: leaves room for the rest of a health answer within 2 s


@dataclass(frozen=True)
class ProbeResult:
    reachable: bool
    revision: str | None = None
    detail: str | None = None  # the kind of failure (an exception class name), never its text
    timed_out: bool = False
    duty_holder: DutyHolder | None = None  # who runs the duties (read in the same round trip's connection)


class DatabaseProbe:
    def __init__(self, engine: Engine, *, deadline: float = DEADLINE) -> None:
        self.engine = engine
        self.deadline = deadline
        self._lock = threading.Lock()
        self._running: Future[ProbeResult] | None = None

    def check(self) -> ProbeResult:
        with self._lock:
            future = self._running
            if future is None or future.done():
                future = self._running = Future()
                threading.Thread(target=self._work, args=(future,), name="database probe", daemon=True).start()
        try:
            return future.result(timeout=self.deadline)
        except TimeoutError:
            return ProbeResult(False, detail=f"no answer within {self.deadline:g} s", timed_out=True)

    def _work(self, future: Future[ProbeResult]) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
                revision = current_revision(conn)
                raw = conn.connection.driver_connection
                assert isinstance(raw, psycopg.Connection)  # the engines here are psycopg's
                result = ProbeResult(True, revision, duty_holder=holder(raw))
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            result = ProbeResult(False, detail=type(orig).__name__ if orig is not None else type(exc).__name__)
        except Exception as exc:  # the probe must always settle its future
            result = ProbeResult(False, detail=type(exc).__name__)
        future.set_result(result)
