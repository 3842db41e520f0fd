"""Durable, ordered store-and-forward queue of events (a SQLite file).

Why SQLite rather than hand-rolled segment files: every append and acknowledgement is
one atomic transaction (no torn records after a crash or power cut), WAL mode with
`synchronous=FULL` fsyncs each commit, the rowid gives a strict replay order, and
deleting delivered rows needs no compaction code. It ships with Python.

Delivery is at least once: rows are deleted only after the sink confirmed them, so a
crash in between replays them; the events' `key`s make that replay idempotent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.events import Event, event_adapter

_SCHEMA = """
create table if not exists events (seq integer primary key autoincrement, body text not null);
create table if not exists rejected (
    seq integer primary key, body text not null, reason text not null,
    at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""


class EventSpool:
    """Thread-safe; the forwarder calls it from worker threads so the event loop never waits on fsync."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=full")
        self._db.executescript(_SCHEMA)
        self._count = self._db.execute("select count(*) from events").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"spool {self.path} is closed")
        return self._db

    def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = [(event_adapter.dump_json(e).decode(),) for e in events]
        with self._lock:
            db = self._conn()
            with db:
                db.executemany("insert into events (body) values (?)", rows)
            self._count += len(rows)

    def peek(self, limit: int) -> list[tuple[int, Event]]:
        """The oldest undelivered events, in order."""
        with self._lock:
            rows = self._conn().execute("select seq, body from events order by seq limit ?", (limit,)).fetchall()
        return [(seq, event_adapter.validate_json(body)) for seq, body in rows]

    def ack(self, through_seq: int) -> None:
        """Delivered: forget every event up to and including `through_seq`."""
        with self._lock:
            db = self._conn()
            with db:
                deleted = db.execute("delete from events where seq <= ?", (through_seq,)).rowcount
            self._count -= deleted

    def reject(self, through_seq: int, reason: str) -> None:
        """Set events aside (kept for inspection) instead of retrying them forever."""
        with self._lock:
            db = self._conn()
            with db:
                db.execute(
                    "insert into rejected (seq, body, reason) select seq, body, ? from events where seq <= ?",
                    (reason, through_seq),
                )
                deleted = db.execute("delete from events where seq <= ?", (through_seq,)).rowcount
            self._count -= deleted

    def set_aside(self, seqs: Sequence[int], reason: str) -> None:
        """Keep these events for inspection only; the rest of their batch is acknowledged separately."""
        if not seqs:
            return
        with self._lock:
            db = self._conn()
            with db:
                db.executemany(
                    "insert or ignore into rejected (seq, body, reason) select seq, body, ? from events where seq = ?",
                    [(reason, seq) for seq in seqs],
                )
                deleted = db.executemany("delete from events where seq = ?", [(seq,) for seq in seqs]).rowcount
            self._count -= deleted

    def counter_baselines(self) -> dict[str, dict[str, StoredCounter]]:
        """The newest counter baseline of each machine among the undelivered events (by
        machine id, then signal): they will reach the database after the counts before them."""
        query = """
            select json_extract(body, '$.machine_id'), json_extract(body, '$.kind'),
                   json_extract(body, '$.good_raw'), json_extract(body, '$.reject_raw'),
                   coalesce(json_extract(body, '$.raw_at'), json_extract(body, '$.at')),
                   json_extract(body, '$.signal'), json_extract(body, '$.raw'), json_extract(body, '$.detected_at')
            from events
            where json_extract(body, '$.kind') in ('baseline', 'anomaly')
               or (json_extract(body, '$.kind') = 'count' and json_extract(body, '$.raw_at') is not null)
            order by seq
        """
        with self._lock:
            rows = self._conn().execute(query).fetchall()
        out: dict[str, dict[str, StoredCounter]] = {}

        def keep(machine_id: str, signal: str, raw: int, at: str) -> None:
            counter = StoredCounter(int(raw), datetime.fromisoformat(at))
            mine = out.setdefault(machine_id, {})
            if signal not in mine or mine[signal].read_at <= counter.read_at:
                mine[signal] = counter

        for machine_id, kind, good, reject, at, signal, raw, detected_at in rows:
            if kind == "anomaly":
                keep(machine_id, signal, raw, detected_at)
            else:
                keep(machine_id, "good", good, at)
                keep(machine_id, "reject", reject, at)
        return out

    def rejected_count(self) -> int:
        with self._lock:
            return self._conn().execute("select count(*) from rejected").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
