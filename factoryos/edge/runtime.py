"""The site edge process: the central poller's pipeline with the broker as its sink.

    machine list ← central API (edge token) | edge.toml | the last list received
    poller (same drivers, counting and state rules) → Forwarder (fsync'd spool) → SparkplugPublisher

While the broker or the link is down, polling goes on and events wait in the spool; they leave in
order, acknowledged by the broker, once it is back. Counter continuity: a machine polled for the
first time counts from the newest baseline among the server's stored ones and the spool's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.forwarder import Forwarder
from factoryos.connectivity.machine_config import AnyMachine, parse_machine_configs
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.spool import EventSpool
from factoryos.edge.edge_models import EdgeConfigOut
from factoryos.edge.publisher import BrokerSettings, SparkplugPublisher
from factoryos.edge.settings import EdgeSettings
from factoryos.errors import Conflict
from factoryos.private_files import write_private
from factoryos.process_lock import ProcessLock

log = logging.getLogger(__name__)

class EdgeBusy(Conflict):
    code = "edge_busy"
    title = "Edge already running"


FetchConfig = Callable[[], Awaitable[EdgeConfigOut]]
CACHE = "machines.json"


class EdgeRuntime:
    def __init__(self, settings: EdgeSettings, fetch: FetchConfig | None = None, *,
                 poller_settings: PollerSettings | None = None, backoff: Backoff | None = None) -> None:
        self.settings = settings
        self.directory = Path(settings.file.edge.data_dir)
        self._fetch = fetch
        self._poller_settings = poller_settings
        self._backoff = backoff or Backoff(0.5, 10.0)
        b = settings.file.broker
        self.publisher = SparkplugPublisher(
            BrokerSettings.from_url(b.url, settings.node, settings.secret, ca_certificate=b.ca_certificate,
                                    timeout=b.timeout),
            settings.group, settings.node)
        self.forwarder: Forwarder | None = None
        self.poller: Poller | None = None
        self.source = "none"  # where the machine list in use came from: server, cache, file
        self.last_fetch_error: str | None = None
        self._seen: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = ProcessLock(self.directory / "edge.lock")

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self._lock.try_acquire():
            raise EdgeBusy(f"an edge (process {self._lock.holder() or '?'}) already uses {self.directory}")
        try:
            self.forwarder = Forwarder(EventSpool(self.directory / "spool.sqlite3"), self.publisher,
                                       backoff=self._backoff)
            await self.forwarder.start()
            self.poller = Poller([], self.forwarder.submit, settings=self._poller_settings)
            await self.poller.start()
            await self.reload()
        except BaseException:
            await self.stop()
            raise
        self._tasks = [asyncio.create_task(self._reload_forever(), name="edge reload")]

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
        await self.publisher.close()
        self._lock.release()

    async def __aenter__(self) -> EdgeRuntime:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # -- the machine list --------------------------------------------------------------------
    async def _machines(self) -> tuple[list[AnyMachine], dict[str, dict[str, StoredCounter]]]:
        if self._fetch is not None:
            try:
                config = await self._fetch()
            except Exception as exc:  # server or link down: keep what we have
                message = f"{type(exc).__name__}: {exc}"
                if self.last_fetch_error is None:
                    log.warning("cannot get the machine list from the server: %s", message)
                self.last_fetch_error = message
            else:
                self.last_fetch_error = None
                await asyncio.to_thread(self._keep, config)
                self.source = "server"
                return parse_machine_configs(config.machines), {
                    mid: {s: StoredCounter(c.raw, c.read_at) for s, c in counters.items()}
                    for mid, counters in config.baselines.items()}
            if self.poller is not None and self.poller.machines:
                return list(self.poller.machines.values()), {}
            cached = await asyncio.to_thread(self._cached)
            if cached is not None:
                self.source = "cache"
                return parse_machine_configs(cached.machines), {}
        self.source = "file"
        return list(self.settings.machines), {}

    def _keep(self, config: EdgeConfigOut) -> None:
        """The last list received, for a start while the server cannot be reached (it holds PLC passwords)."""
        write_private(self.directory / CACHE, config.model_dump_json())

    def _cached(self) -> EdgeConfigOut | None:
        try:
            return EdgeConfigOut.model_validate(json.loads((self.directory / CACHE).read_text()))
        except (OSError, ValueError):
            return None

    async def reload(self) -> None:
        assert self.poller is not None and self.forwarder is not None
        machines, stored = await self._machines()
        foreign = [m.machine_id for m in machines if not m.machine_id.startswith(self.settings.group + "/")]
        if foreign:
            log.error("ignoring %d machines of another company: %s", len(foreign), ", ".join(foreign[:5]))
            machines = [m for m in machines if m.machine_id not in foreign]
        fresh = [m.machine_id for m in machines if m.machine_id not in self._seen]
        baselines: dict[str, dict[str, StoredCounter]] = {mid: dict(stored.get(mid, {})) for mid in fresh}
        if fresh:
            spooled = await asyncio.to_thread(self.forwarder.spool.counter_baselines)
            for mid in fresh:
                mine = baselines[mid]
                for signal, counter in spooled.get(mid, {}).items():
                    if signal not in mine or mine[signal].read_at <= counter.read_at:
                        mine[signal] = counter
        await self.poller.update(machines, baselines)
        self._seen.update(fresh)

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.file.edge.reload_seconds)
            try:
                await self.reload()
            except Exception:  # one bad reload must not end the next ones
                log.exception("reloading the machine list failed")
