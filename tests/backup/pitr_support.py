"""A throwaway embedded cluster with the FactoryOS schema, archived continuously (pg_receivewal +
base backups) into its own backup folder, and a probe table to count what a restore brings back."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, pool

from factoryos.backup.continuous import ContinuousArchiver
from factoryos.db.audit_guard import upgrade_guarded
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls
from factoryos.db.roles import init_database

DATABASE = "factoryos"


@dataclass
class Archived:
    data_dir: Path
    backups: Path
    pg: EmbeddedPostgres | None = None
    archiver: ContinuousArchiver | None = None

    @property
    def source_url(self) -> str:
        assert self.pg is not None
        return self.pg.url("postgres", DATABASE)

    def start(self, *, prepare: bool = False) -> Archived:
        self.pg = EmbeddedPostgres(self.data_dir).start()
        if prepare:
            urls = embedded_urls(self.pg, DATABASE)
            assert urls.admin is not None and urls.owner is not None
            init_database(urls.admin, DATABASE)
            upgrade_guarded(urls.admin, urls.owner, DATABASE)
            self.sql("create table pitr_probe (id int primary key, at timestamptz not null default clock_timestamp())")
        return self

    def create_database(self) -> Archived:
        """An empty FactoryOS database, for tests that only need something to archive."""
        assert self.pg is not None
        engine = create_engine(self.pg.url("postgres", "postgres"), poolclass=pool.NullPool,
                               isolation_level="AUTOCOMMIT")  # fmt: skip
        with engine.connect() as conn:
            conn.exec_driver_sql(f'create database "{DATABASE}"')
        engine.dispose()
        return self

    def archive(self) -> ContinuousArchiver:
        """Receiver started and caught up; ticks are driven by the test (no thread)."""
        self.archiver = ContinuousArchiver(self.backups, self.source_url, base_interval_hours=0)
        self.archiver.wal.mkdir(parents=True, exist_ok=True)
        self.caught_up()
        return self.archiver

    def caught_up(self, timeout: float = 60) -> dt.datetime:
        """Tick until the archive holds everything written so far; returns that instant."""
        assert self.archiver is not None
        written = dt.datetime.now(dt.UTC)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.archiver.tick(base=False)
            if self.archiver.last_success_at is not None and self.archiver.last_success_at >= written:
                return self.archiver.last_success_at
            time.sleep(0.3)
        raise AssertionError(f"the WAL archive did not catch up: {self.archiver.last_error}")

    def sql(self, statement: str, params: dict | None = None):  # type: ignore[no-untyped-def]
        engine = create_engine(self.source_url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(statement, params or {})
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def insert(self, ids: range) -> None:
        for i in ids:
            self.sql("insert into pitr_probe (id) values (%(id)s)", {"id": i})

    def probe_ids(self) -> list[int]:
        return [r[0] for r in self.sql("select id from pitr_probe order by id")]

    def stop(self) -> None:
        if self.archiver is not None:
            self.archiver.stop()
            self.archiver = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
