"""DR drill: lose the database's storage mid-stream, restore to latest from base backup + WAL.

A throwaway embedded cluster (FactoryOS schema, one company) is archived as the server does it:
pg_receivewal streaming into `<backup dir>/wal`, a base backup in `<backup dir>/base`. A writer
commits entries continuously, each one a row and an audit event in one transaction, and notes
when each was acknowledged. Mid-stream the data directory is removed and the postmaster killed
(a dead disk). Then `restore_to_time(..., None)` (what `factoryos backup restore --to-latest`
runs) rebuilds the cluster, checks every audit chain, and the cluster is started again.

RPO: the last acknowledged entry against the last restored one (entries and seconds lost).
RTO: seconds from the restore command to a healthy database (started, answering, entries counted).

Run: python -m scripts.drills.pitr_storage_loss [--seconds 20] [--rate 50]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import create_engine, pool, text

from factoryos.audit.writer import AuditEvent, record
from factoryos.backup.continuous import ContinuousArchiver
from factoryos.backup.pitr import restore_to_time
from factoryos.db.audit_guard import upgrade_guarded
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls
from factoryos.db.roles import init_database
from scripts.drills.stack import scratch_dir

DATABASE = "factoryos"


@dataclass
class Figures:
    written: int = 0
    acked: dict[int, float] = field(default_factory=dict)  # entry → monotonic time of its acknowledgement
    restored_last: int | None = None
    restored_count: int = 0
    rpo_entries: int = 0
    rpo_seconds: float = 0.0
    rto_seconds: float = 0.0
    restore_seconds: float = 0.0
    chains_ok: int = 0
    writer_error: str | None = None

    def summary(self) -> str:
        return (f"{len(self.acked)} entries acknowledged (last #{max(self.acked, default=0)}), "
                f"{self.restored_count} restored (last #{self.restored_last}); "
                f"RPO {self.rpo_entries} entries / {self.rpo_seconds:.2f} s; "
                f"RTO {self.rto_seconds:.1f} s (restore {self.restore_seconds:.1f} s); "
                f"audit chains verified: {self.chains_ok}")


def _prepare(pg: EmbeddedPostgres) -> uuid.UUID:
    urls = embedded_urls(pg, DATABASE)
    assert urls.admin is not None and urls.owner is not None
    init_database(urls.admin, DATABASE)
    upgrade_guarded(urls.admin, urls.owner, DATABASE)
    engine = create_engine(pg.url("postgres", DATABASE), poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(text("create table drill_entries (id int primary key, at timestamptz not null "
                          "default clock_timestamp())"))  # fmt: skip
        tenant = conn.execute(text("insert into companies (name) values ('Drill Works') returning tenant_id")).scalar_one()
    engine.dispose()
    return tenant


def _writer(url: str, tenant: uuid.UUID, rate: float, stop: threading.Event, figures: Figures) -> None:
    """One entry per transaction, acknowledged when the commit returns; ends at the first failure."""
    engine = create_engine(url, poolclass=pool.NullPool)
    pause = 1 / rate if rate > 0 else 0
    n = 0
    try:
        with engine.connect() as conn:
            while not stop.is_set():
                n += 1
                figures.written = n
                with conn.begin():
                    conn.execute(text("insert into drill_entries (id) values (:id)"), {"id": n})
                    record(conn, AuditEvent(tenant_id=tenant, action="create", entity_type="drill_entry",
                                            entity_id=str(n), after={"n": n}))  # fmt: skip
                figures.acked[n] = time.monotonic()
                time.sleep(pause)
    except Exception as exc:  # the storage went away: exactly what the drill does to it
        figures.writer_error = type(exc).__name__
    finally:
        engine.dispose()


def _lose_storage(pg: EmbeddedPostgres) -> None:
    """Remove the data directory, then kill the postmaster (nothing can flush any more)."""
    pid = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
    shutil.rmtree(pg.pgdata, ignore_errors=True)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # its backends exit on their own when they see it gone
    with contextlib.suppress(Exception):
        pg.stop()  # releases the embedded lock; pg_ctl finds nothing to stop


def run(seconds: float = 20.0, rate: float = 50.0, *, say=print) -> Figures:  # type: ignore[no-untyped-def]
    figures = Figures()
    with scratch_dir("factoryos-pitr-drill-") as root:
        data_dir, backups = root / "data", root / "backups"
        pg = EmbeddedPostgres(data_dir).start()
        tenant = _prepare(pg)
        archiver = ContinuousArchiver(backups, pg.url("postgres", DATABASE), base_interval_hours=0, poll_seconds=1)
        archiver.start()
        _wait(lambda: archiver.last_success_at is not None, 60, "the WAL archive to start streaming")
        say("base backup…")
        archiver.take_base_backup()
        stop = threading.Event()
        writer = threading.Thread(target=_writer, args=(pg.url("postgres", DATABASE), tenant, rate, stop, figures))
        writer.start()
        time.sleep(seconds)
        say(f"removing the data directory after {len(figures.acked)} entries")
        _lose_storage(pg)
        stop.set()
        writer.join(timeout=60)
        time.sleep(2)  # pg_receivewal notices the lost connection and exits
        archiver.stop()

        say("restoring to latest…")
        started = time.monotonic()
        report = restore_to_time(data_dir, backups, DATABASE, None)
        figures.restore_seconds = report.seconds
        figures.chains_ok = len(report.chains)
        restored = EmbeddedPostgres(data_dir).start()
        try:
            engine = create_engine(restored.url("postgres", DATABASE), poolclass=pool.NullPool)
            with engine.connect() as conn:
                figures.restored_last = conn.execute(text("select max(id) from drill_entries")).scalar()
                figures.restored_count = conn.execute(text("select count(*) from drill_entries")).scalar_one()
            engine.dispose()
            figures.rto_seconds = time.monotonic() - started
        finally:
            restored.stop()
    last_acked = max(figures.acked, default=0)
    last_restored = figures.restored_last or 0
    figures.rpo_entries = max(0, last_acked - last_restored)
    if figures.rpo_entries and last_restored in figures.acked:
        figures.rpo_seconds = figures.acked[last_acked] - figures.acked[last_restored]
    return figures


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="How long entries are written before the loss.")
    parser.add_argument("--rate", type=float, default=50.0, help="Entries per second (one transaction each).")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC)
    figures = run(args.seconds, args.rate)
    print(f"{started:%Y-%m-%d %H:%M} UTC: {figures.summary()}")
    if figures.restored_count != figures.restored_last:
        raise SystemExit("FAILED: the restored entries have gaps")


if __name__ == "__main__":
    main()
