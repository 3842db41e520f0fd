"""DR drill: the primary dies mid-stream, its warm standby is promoted.

A throwaway embedded cluster (FactoryOS schema, one company) gets a standby cloned from it as
`factoryos install --standby-of` and the tests do: its own replication role, a replication slot,
streaming. A writer commits entries on the primary continuously, each one a row and an audit event
in one transaction, and notes when each was acknowledged. Mid-stream the primary's postmaster is
killed (SIGKILL: a host gone, nothing flushed or sent after). Then the standby is promoted (what
`factoryos standby promote` runs) and used: a write accepted, the entries counted.

RPO: the last acknowledged entry against the last one on the promoted standby (entries and seconds).
RTO: seconds from the promote command to a writable database with the entries counted (the terminals'
address change, DNS or bind address, comes on top).

Run: python -m scripts.drills.standby_promotion [--seconds 20] [--rate 50]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import create_engine, make_url, pool, text

from factoryos.backup.standby import REPLICATION_ROLE, clone, create_replication_role, promote, replica_state
from factoryos.db.embedded import EmbeddedPostgres
from scripts.drills.pitr_storage_loss import DATABASE, Figures, _prepare, _wait, _writer
from scripts.drills.stack import scratch_dir


@dataclass
class StandbyFigures:
    acked: dict[int, float] = field(default_factory=dict)
    promoted_last: int | None = None
    promoted_count: int = 0
    rpo_entries: int = 0
    rpo_seconds: float = 0.0
    rto_seconds: float = 0.0
    promote_seconds: float = 0.0
    lag_bytes_before: int | None = None  # what the standby had received but not replayed at the kill
    writer_error: str | None = None

    def summary(self) -> str:
        return (f"{len(self.acked)} entries acknowledged (last #{max(self.acked, default=0)}), "
                f"{self.promoted_count} on the promoted standby (last #{self.promoted_last}); "
                f"RPO {self.rpo_entries} entries / {self.rpo_seconds:.2f} s; "
                f"RTO {self.rto_seconds:.1f} s (promotion {self.promote_seconds:.1f} s)")  # fmt: skip


def _kill(pg: EmbeddedPostgres) -> None:
    """SIGKILL the postmaster: no shutdown checkpoint, no last WAL sent to the standby."""
    pid = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        pg.stop()  # releases the embedded lock (its backends exit once the postmaster is gone)


def run(seconds: float = 20.0, rate: float = 50.0, *, say=print) -> StandbyFigures:  # type: ignore[no-untyped-def]
    figures, writing = StandbyFigures(), Figures()
    with scratch_dir("factoryos-standby-drill-") as root:
        primary = EmbeddedPostgres(root / "a").start()
        standby: EmbeddedPostgres | None = None
        try:
            tenant = _prepare(primary)
            primary_url = primary.url("postgres", DATABASE)
            create_replication_role(primary_url, "drill-replication-password")
            as_role = make_url(primary_url).set(username=REPLICATION_ROLE, database="postgres")
            say("cloning the standby…")
            clone(as_role.render_as_string(hide_password=False), root / "b" / "pg")
            standby = EmbeddedPostgres(root / "b").start()
            standby_url = standby.url("postgres", DATABASE)
            _wait(lambda: replica_state(standby_url).streaming, 60, "the standby to stream")

            stop = threading.Event()
            writer = threading.Thread(target=_writer, args=(primary_url, tenant, rate, stop, writing))
            writer.start()
            time.sleep(seconds)
            say(f"killing the primary after {len(writing.acked)} entries")
            figures.lag_bytes_before = replica_state(standby_url).behind_bytes
            _kill(primary)
            stop.set()
            writer.join(timeout=60)
            figures.acked, figures.writer_error = writing.acked, writing.writer_error

            say("promoting the standby…")
            started = time.monotonic()
            promote(standby_url)
            figures.promote_seconds = time.monotonic() - started
            engine = create_engine(standby_url, poolclass=pool.NullPool)
            try:
                with engine.begin() as conn:
                    conn.execute(text("insert into drill_entries (id) values (-1)"))  # writable: a primary
                with engine.connect() as conn:
                    figures.promoted_last = conn.execute(text("select max(id) from drill_entries")).scalar()
                    figures.promoted_count = conn.execute(
                        text("select count(*) from drill_entries where id > 0")).scalar_one()  # fmt: skip
            finally:
                engine.dispose()
            figures.rto_seconds = time.monotonic() - started
        finally:
            if standby is not None:
                standby.stop()
            with contextlib.suppress(Exception):
                primary.stop()
    last_acked = max(figures.acked, default=0)
    last_there = figures.promoted_last or 0
    figures.rpo_entries = max(0, last_acked - last_there)
    if figures.rpo_entries and last_there in figures.acked:
        figures.rpo_seconds = figures.acked[last_acked] - figures.acked[last_there]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="How long entries are written before the kill.")
    parser.add_argument("--rate", type=float, default=50.0, help="Entries per second (one transaction each).")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC)
    figures = run(args.seconds, args.rate)
    print(f"{started:%Y-%m-%d %H:%M} UTC: {figures.summary()}")
    if figures.promoted_count != figures.promoted_last:
        raise SystemExit("FAILED: the promoted standby's entries have gaps")


if __name__ == "__main__":
    main()
