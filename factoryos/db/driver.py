"""Statements run on the driver (psycopg) connection under a SQLAlchemy one, in its transaction.

The request hot path sends a few large hand-written statements whose rows SQLAlchemy would only
re-describe on every execution (a text statement's columns are not known before it runs). Going
to psycopg directly skips that work; the statement text is kept short enough for psycopg to
cache its parsing (`compact`), and psycopg prepares it on the server after a few runs.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import select
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import psycopg
import psycopg.errors
from psycopg.abc import Transformer as Adapting
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ConnStatus, DiagnosticField, ExecStatus, TransactionStatus
from psycopg.pq.abc import PGconn, PGresult
from psycopg.rows import dict_row
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError


def compact(sql: str) -> str:
    """`sql` with its runs of white space made one space (so: no `--` comments in it)."""
    if "--" in sql:
        raise ValueError("a compacted statement cannot hold -- comments")
    return " ".join(sql.split())


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under `conn` (checked out: SQLAlchemy's pool hands out psycopg ones)."""
    return cast("psycopg.Connection[Any]", conn.connection.driver_connection)


def fetch_one(conn: Connection, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of `sql` (psycopg `%(name)s` parameters) as a dict, or None."""
    # psycopg's own cursor: a lone statement gains nothing measurable from `run_batch`.
    with psycopg_connection(conn).cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchone()


# -- statements in one round trip, straight on libpq --------------------------------------------
#
# psycopg's pipeline mode flushes the socket after every statement it queues (a system call and a
# poll each, with Python's machinery around them): for the request path's few short statements
# that is most of what the client spends on them. `run_batch` queues them all in libpq, sends them
# with one Sync in one write and reads every answer back, using only psycopg's libpq wrapper and
# its adaptation (the same dumpers and loaders, so values go and come back as through a cursor).
# Each statement with parameters is prepared on its connection the first time it runs there, in
# the same round trip: the server then plans the big ones once per connection, not per request
# (measured: unprepared, PostgreSQL spends some 2 ms more per entry).

_PLACEHOLDER = re.compile(r"%(?:\((\w+)\)([sbt])|%)")
_FORMATS = {"s": PyFormat.AUTO, "b": PyFormat.BINARY, "t": PyFormat.TEXT}
_MAX_PREPARED = 100  # per connection: the hot statements are a handful; more run unprepared


class PlannedEachTime(str):
    """A statement `run_batch` sends unprepared, so PostgreSQL plans it for its values each time.

    A prepared statement keeps a plan made for parameter arrays of no length in particular (ten
    elements, PostgreSQL assumes), and the arrays stay parameters: `x = any(%(ids)b)` is then tested
    element by element for each row. Planned with the values, the arrays are constants of known
    length and such a test is hashed. Planning costs some 0.5 ms; for the batch writer's statements
    that change rows found by the batch's keys."""

    __slots__ = ()


@dataclass(frozen=True)
class _Query:
    """A statement with `%(name)s` parameters as libpq takes it: `$n` placeholders, names in order."""

    text: bytes
    names: tuple[str, ...]
    formats: tuple[PyFormat, ...]


@lru_cache(maxsize=256)
def _query(sql: str) -> _Query:
    names: list[str] = []
    formats: list[PyFormat] = []

    def placeholder(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "%"  # %% is a literal %
        name, fmt = m.group(1), _FORMATS[m.group(2)]
        if name not in names:
            names.append(name)
            formats.append(fmt)
        elif formats[names.index(name)] != fmt:
            raise ValueError(f"parameter {name} is given in two formats")
        return f"${names.index(name) + 1}"

    text = _PLACEHOLDER.sub(placeholder, sql)
    return _Query(text.encode(), tuple(names), tuple(formats))


# Names of the statements prepared by `run_batch` on each connection: (query, parameter types) → name.
# psycopg deallocates every prepared statement of a connection (its own and these) when it rolls a
# transaction back, or sees a savepoint rolled back, while it has statements of its own prepared:
# the engine's events forget the names then (`_track`), and a batch that finds one gone anyway
# forgets them all (the next prepares again).
_prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], dict[tuple[bytes, tuple[int, ...]], bytes]] = (
    weakref.WeakKeyDictionary())
_names = itertools.count(1)
_tracked: weakref.WeakSet[Engine] = weakref.WeakSet()


def run_batch(conn: Connection, statements: Sequence[tuple[str, Mapping[str, Any] | None]], *,
              restartable: bool = False) -> list[list[dict[str, Any]]]:
    """Run `statements` (psycopg `%(name)s` parameters) on the connection under `conn`, in order and
    in one round trip; their rows, as dicts, one list per statement.

    As in a psycopg pipeline, the first statement to fail aborts the ones after it, and its error
    (psycopg's class for its SQLSTATE, with its diagnostics) is raised once all answers are in; a
    lost connection raises psycopg's OperationalError and leaves the connection `broken`.
    `restartable`: the batch begins the transaction (nothing before it is lost by a rollback), so
    one that found its prepared statements gone is rolled back and sent again, prepared afresh.
    """
    if conn.engine not in _tracked:
        _track(conn.engine)
    raw = psycopg_connection(conn)
    try:
        return _run(raw, statements)
    except psycopg.errors.InvalidSqlStatementName:
        if not restartable:
            raise
        _run(raw, [("rollback", None)])
        return _run(raw, statements)


def _run(raw: psycopg.Connection[Any], statements: Sequence[tuple[str, Mapping[str, Any] | None]],
         ) -> list[list[dict[str, Any]]]:
    pgconn = raw.pgconn
    encoding = raw.info.encoding
    prepared = _prepared.setdefault(raw, {})
    tx: Adapting = Transformer(raw)
    # Adapted first (an unadaptable value fails here, before anything is queued on the connection).
    commands: list[tuple[_Query, Sequence[Any] | None, tuple[int, ...], Sequence[Any] | None, bool]] = []
    for i, (sql, params) in enumerate(statements):
        q = _query(sql)
        if not q.names:  # begin, commit: nothing to plan
            commands.append((q, None, (), None, False))
            continue
        if params is None:
            raise TypeError(f"statement {i} needs parameters {', '.join(q.names)}")
        values = tx.dump_sequence([params[n] for n in q.names], q.formats)
        commands.append((q, values, tuple(tx.types or ()), tx.formats, isinstance(sql, PlannedEachTime)))
    # What each answer is for: a statement (its index) or the preparing of one (its cache key, name).
    answers: list[int | tuple[tuple[bytes, tuple[int, ...]], bytes]] = []
    # Prepared in this batch: `prepared` learns them only from their answers, and a statement that
    # comes twice in one batch must not be prepared twice (the first name would stay on the server).
    preparing: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
    with raw.lock:
        pgconn.enter_pipeline_mode()
        try:
            for i, (q, dumped, types, formats, each_time) in enumerate(commands):
                key = (q.text, types)
                name = (prepared.get(key) or preparing.get(key)) if q.names and not each_time else None
                if name is None and q.names and not each_time and len(prepared) + len(preparing) < _MAX_PREPARED:
                    name = preparing[key] = f"_fos_{next(_names)}".encode()
                    pgconn.send_prepare(name, q.text, param_types=types)
                    answers.append((key, name))
                if name is None:
                    pgconn.send_query_params(q.text, dumped, param_types=types, param_formats=formats)
                else:
                    pgconn.send_query_prepared(name, dumped, param_formats=formats)
                answers.append(i)
            pgconn.pipeline_sync()
            _flush(pgconn)
            rows, error = _read_answers(pgconn, tx, answers, prepared, len(statements), encoding)
        finally:
            if pgconn.status != ConnStatus.BAD:
                with contextlib.suppress(psycopg.OperationalError):  # answers left unread: already failing
                    pgconn.exit_pipeline_mode()
    if error is not None:
        raise error
    return rows


def _track(engine: Engine) -> None:
    """Forget a connection's prepared names whenever psycopg may have deallocated them."""
    event.listen(engine, "rollback", _rolled_back)
    event.listen(engine, "rollback_savepoint", _savepoint_rolled_back)
    event.listen(engine.pool, "reset", _reset)
    _tracked.add(engine)


def _forget(raw: Any, *, unless_idle: bool) -> None:
    if not isinstance(raw, psycopg.Connection) or raw not in _prepared:
        return
    if unless_idle and raw.info.transaction_status == TransactionStatus.IDLE:
        return  # psycopg's rollback of an idle connection sends nothing
    # psycopg sends its DEALLOCATE ALL only when it has prepared statements of its own; otherwise
    # these stay on the server and in use (forgetting them would leave them there, unused).
    own = getattr(getattr(raw, "_prepared", None), "_names", None)
    if own is None or own:
        del _prepared[raw]


def _rolled_back(conn: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):
        _forget(conn.connection.driver_connection, unless_idle=True)


def _savepoint_rolled_back(conn: Connection, name: str, context: Any) -> None:
    with contextlib.suppress(SQLAlchemyError):
        _forget(conn.connection.driver_connection, unless_idle=False)


def _reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
    _forget(dbapi_connection, unless_idle=True)


def _read_answers(pgconn: PGconn, tx: Adapting, answers: list[Any], prepared: dict[Any, bytes], count: int,
                  encoding: str) -> tuple[list[list[dict[str, Any]]], psycopg.Error | None]:
    rows: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    error: psycopg.Error | None = None
    for answer in answers:
        if pgconn.status == ConnStatus.BAD:
            break
        results = []
        while (result := _next_result(pgconn)) is not None:
            results.append(result)
        for result in results:
            if result.status == ExecStatus.FATAL_ERROR:
                if error is None:
                    error = psycopg.errors.error_from_result(result, encoding=encoding)
                if result.error_field(DiagnosticField.SQLSTATE) in _STALE_PLAN:
                    prepared.clear()  # the schema changed under the prepared statements: prepare again
            elif result.status == ExecStatus.PIPELINE_ABORTED:
                if error is None:
                    error = psycopg.errors.PipelineAborted("pipeline aborted")
            elif isinstance(answer, tuple):
                key, name = answer
                prepared[key] = name
            elif result.status == ExecStatus.TUPLES_OK and result.ntuples:
                rows[answer] = _dicts(tx, result, encoding)
    sync = _next_result(pgconn) if pgconn.status != ConnStatus.BAD else None
    if sync is None or sync.status != ExecStatus.PIPELINE_SYNC:
        if error is not None:
            raise error
        lost = pgconn.error_message.decode(encoding, "replace").strip()
        raise psycopg.OperationalError(lost or "the server's answers did not end where the statements did")
    return rows, error


def _dicts(tx: Adapting, result: PGresult, encoding: str) -> list[dict[str, Any]]:
    names = [(result.fname(c) or b"").decode(encoding) for c in range(result.nfields)]
    tx.set_pgresult(result)
    rows: list[dict[str, Any]] = tx.load_rows(0, result.ntuples, lambda values: dict(zip(names, values)))  # noqa: B905 - a row has nfields values
    return rows


# A prepared statement that no longer exists, or whose plan the schema has changed.
_STALE_PLAN = {b"26000", b"0A000"}


def _flush(pgconn: PGconn) -> None:
    while pgconn.flush():
        _wait(pgconn, select.POLLOUT)


def _next_result(pgconn: PGconn) -> PGresult | None:
    while pgconn.is_busy():
        _wait(pgconn, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(pgconn: PGconn, events: int) -> None:
    poller = select.poll()
    poller.register(pgconn.socket, events | select.POLLERR | select.POLLHUP)
    poller.poll()
