"""The whole pipeline for one process: poller → forwarder (spool) → sink.

The server's lifespan starts one of these:

    async with ConnectivityService(machines, sink, data_dir / "connectivity-spool.sqlite3"):
        yield
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import Sink
from factoryos.connectivity.forwarder import Forwarder
from factoryos.connectivity.monitor import MachineStatus
from factoryos.connectivity.poller import Machine, Poller, PollerSettings
from factoryos.connectivity.spool import EventSpool


class ConnectivityService:
    def __init__(
        self,
        machines: Sequence[Machine],
        sink: Sink,
        spool_path: Path,
        *,
        settings: PollerSettings | None = None,
        sink_backoff: Backoff | None = None,
    ) -> None:
        self._machines = list(machines)
        self._sink = sink
        self._spool_path = Path(spool_path)
        self._settings = settings
        self._sink_backoff = sink_backoff
        self.forwarder: Forwarder | None = None
        self.poller: Poller | None = None

    async def start(self) -> None:
        self.forwarder = Forwarder(EventSpool(self._spool_path), self._sink, backoff=self._sink_backoff)
        await self.forwarder.start()
        self.poller = Poller(self._machines, self.forwarder.submit, settings=self._settings)
        await self.poller.start()

    async def stop(self, drain_timeout: float = 5.0) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.forwarder is not None:
            await self.forwarder.stop(drain_timeout)

    def statuses(self) -> list[MachineStatus]:
        return self.poller.statuses() if self.poller else []

    async def __aenter__(self) -> ConnectivityService:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
