"""The poller as a long-running service: configs from the database, events back into it.

    poller ← ConfigSource (reload every few s)      poller → Forwarder (spool) → DbSink

Started by the server's lifespan, or alone by `factoryos poller`. Only one poller may
use a data directory at a time (its spool): a second one gets `PollerBusy`. A reload
that fails (database down) keeps polling what was loaded before; events spool on disk
until the database is back.

Counter continuity: a machine this runtime polls for the first time counts its first
reading from its stored baseline, the newest of the database's and of any still waiting in
the spool. The spool is read first: the forwarder moves events into the database meanwhile,
and an event it takes out after that read is in the database by the time it is read.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from uuid import UUID

from sqlalchemy import Engine

from factoryos.config import Settings
from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.config_source import ConfigSource, LoadedMachine
from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.db_sink import DbSink
from factoryos.connectivity.events import Health
from factoryos.connectivity.forwarder import Forwarder
from factoryos.connectivity.monitor import MachineStatus
from factoryos.connectivity.poller import Poller, PollerChanges, PollerSettings
from factoryos.connectivity.spool import EventSpool
from factoryos.db.engine import make_engine
from factoryos.errors import FactoryOSError
from factoryos.identity.keys import DerivedKeys
from factoryos.keys import secret_key

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Keep the objects made at start-up out of full garbage collections, for good.

    Drivers, address-space caches, configs and monitors live as long as the process; a
    full collection walks them all and stalls the event loop (measured: ~150 ms every few
    seconds with 2,000 machines), making a whole round of polls late. Call once, from the
    process that owns the poller, after it started.
    """
    gc.collect()
    gc.freeze()


class PollerBusy(FactoryOSError):
    code = "poller_busy"
    status = 409
    title = "Poller already running"


def spool_dir(settings: Settings) -> Path:
    return settings.data_dir / "connectivity"


class PollerRuntime:
    def __init__(
        self,
        engine: Engine,
        keys: DerivedKeys,
        directory: Path,
        *,
        reload_interval: float = 10.0,
        sweep_interval: float = 15.0,
        sweep_lag: float = 3.0,
        settings: PollerSettings | None = None,
        sink_backoff: Backoff | None = None,
        owns_engine: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.reload_interval = reload_interval
        self.sweep_interval = sweep_interval
        self.sweep_lag = sweep_lag
        self._engine = engine
        self._owns_engine = owns_engine
        self._source = ConfigSource(engine, keys)
        self._settings = settings
        self._sink_backoff = sink_backoff
        self.sink = DbSink(engine)
        self.forwarder: Forwarder | None = None
        self.poller: Poller | None = None
        self.tenants: set[UUID] = set()
        self.last_reload_error: str | None = None
        self.paused = False
        self._invalid: dict[str, LoadedMachine] = {}
        self._seen: set[str] = set()  # machines polled since start: they carry their own baselines
        self._reloading = asyncio.Lock()  # one reload at a time: each must see the machines the last one added
        self._tasks: list[asyncio.Task[None]] = []
        self._lock_fd: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str, **kw: object) -> PollerRuntime:
        engine = make_engine(database_url, pool_size=2, application_name="factoryos-poller")
        keys = DerivedKeys.from_secret(secret_key(settings))
        return cls(engine, keys, spool_dir(settings), reload_interval=settings.poller_reload_seconds,
                   owns_engine=True, **kw)  # type: ignore[arg-type]

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._lock()
        try:
            self.forwarder = Forwarder(EventSpool(self.directory / "spool.sqlite3"), self.sink,
                                       backoff=self._sink_backoff)
            await self.forwarder.start()
            self.poller = Poller([], self.forwarder.submit, settings=self._settings)
            await self.poller.start()
            await self.reload()
        except BaseException:
            await self.stop()
            raise
        self._tasks = [
            asyncio.create_task(self._reload_forever(), name="poller config reload"),
            asyncio.create_task(
                self.sink.sweep_forever(lambda: self.tenants, interval=self.sweep_interval, lag=self.sweep_lag,
                                        ready=self._caught_up),
                name="downtime sweep",
            ),
        ]

    async def stop(self, drain_timeout: float = 5.0) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if self.forwarder is not None:
            await self.forwarder.stop(drain_timeout)
            self.forwarder = None
        if self._owns_engine:
            self._engine.dispose()
        self._unlock()

    async def __aenter__(self) -> PollerRuntime:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def pause(self) -> None:
        """Stop touching the database (a restore is about to replace it): machines are still
        polled and their events wait in the spool. Safe to call from any thread."""
        self.paused = True
        if self.forwarder is not None:
            self.forwarder.paused = True

    def resume(self) -> None:
        """Reconnect and deliver what was spooled meanwhile (into the database now in place)."""
        if self._owns_engine:
            self._engine.dispose()
        self.paused = False
        if self.forwarder is not None:
            self.forwarder.paused = False

    # -- work --------------------------------------------------------------------------
    async def reload(self) -> PollerChanges:
        """Read the settings now and restart only the machines whose settings changed."""
        async with self._reloading:
            return await self._reload()

    async def _reload(self) -> PollerChanges:
        assert self.poller is not None and self.forwarder is not None
        try:
            loaded = await asyncio.to_thread(self._source.load)
            fresh = [m.machine_id for m in loaded.valid if m.machine_id not in self._seen]
            baselines = await asyncio.to_thread(self._stored_baselines, fresh) if fresh else {}
        except Exception as exc:  # database down: keep polling what we have
            message = f"{type(exc).__name__}: {exc}"
            if self.last_reload_error is None:
                log.warning("cannot reload machine connections, keeping %d machines: %s",
                            len(self.poller.machines), message)
            self.last_reload_error = message
            return PollerChanges()
        self.last_reload_error = None
        self._report_invalid(loaded.machines)
        changes = await self.poller.update(loaded.valid, baselines)
        self.poller.follow_runs(loaded.run_cycles)
        self._seen.update(fresh)
        self.tenants = loaded.tenants
        return changes

    def _stored_baselines(self, poll_ids: list[str]) -> dict[str, dict[str, StoredCounter]]:
        """Newest stored baseline per machine and counter: the spool's first, then the database's."""
        assert self.forwarder is not None
        wanted = set(poll_ids)
        spooled = {m: b for m, b in self.forwarder.spool.counter_baselines().items() if m in wanted}
        merged = self._source.baselines(poll_ids)
        for mid, counters in spooled.items():
            mine = merged.setdefault(mid, {})
            for signal, counter in counters.items():
                if signal not in mine or mine[signal].read_at <= counter.read_at:
                    mine[signal] = counter
        return merged

    def _report_invalid(self, machines: list[LoadedMachine]) -> None:
        """Settings that cannot be polled show up as the machine's connection health."""
        now = datetime.now(UTC)
        invalid = {m.poll_id: m for m in machines if m.error is not None}
        fresh = [m for pid, m in invalid.items() if self._invalid.get(pid) is not m]
        self._invalid = invalid
        if fresh and self.forwarder is not None:
            self.forwarder.submit([
                Health(machine_id=m.poll_id, last_ok=None, last_error=str(m.error),
                       error_code=m.error.code if m.error else None, at=now)
                for m in fresh
            ])

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            if self.paused:
                continue
            try:
                await self.reload()
            except Exception:  # a bug in one reload must not stop later ones
                log.exception("reloading machine connections failed")

    def _caught_up(self) -> bool:
        forwarder = self.forwarder
        if self.paused or forwarder is None:
            return False
        return forwarder.last_error is None and forwarder.pending < 1000

    def statuses(self) -> list[MachineStatus]:
        return self.poller.statuses() if self.poller else []

    # -- one poller per data directory -------------------------------------------------
    def _lock(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "poller.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise PollerBusy(
                f"a poller (process {holder}) already uses {self.directory}: run only one poller per "
                "data directory (set FACTORYOS_POLLER=0 on the server when running `factoryos poller`)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
