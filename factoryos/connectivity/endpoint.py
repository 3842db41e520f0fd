"""One endpoint (OPC-UA server, Modbus host) shared by the machines behind it.

Each machine polls on its own schedule, but requests that arrive within a short window
are coalesced into one driver read (one OPC-UA Read, a few Modbus block reads) — with
1,000 machines on a 1 s interval that is one batch per second, not 1,000 requests.
A failed connect or read closes the connection and starts exponential back-off; until
the next attempt is due, reads fail fast with the last error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.driver import Driver, Reading
from factoryos.connectivity.errors import ConnectivityError, EndpointUnavailable, SignalReadFailed

log = logging.getLogger(__name__)


class EndpointSession:
    def __init__(
        self,
        label: str,
        driver: Driver[Any],
        backoff: Backoff,
        *,
        coalesce_window: float = 0.02,
        batch_timeout: float = 60.0,
    ) -> None:
        self.label = label
        self._timeout = batch_timeout  # last line of defence; drivers time out per request
        self._driver = driver
        self._backoff = backoff
        self._window = coalesce_window
        self._pending: dict[str, tuple[Any, asyncio.Future[Reading]]] = {}
        self._worker: asyncio.Task[None] | None = None
        self._connected = False
        self._retry_at = 0.0
        self._last_error: ConnectivityError | None = None
        self.batches = 0

    @property
    def driver(self) -> Driver[Any]:
        return self._driver

    @property
    def connected(self) -> bool:
        return self._connected

    async def read(self, machine: Any) -> Reading:
        """This machine's signals from the next batch; raises `ConnectivityError`."""
        future: asyncio.Future[Reading] = asyncio.get_running_loop().create_future()
        self._pending[machine.machine_id] = (machine, future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name=f"endpoint {self.label}")
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for _, future in self._pending.values():
            future.cancel()
        self._pending.clear()
        await self._driver.close()
        self._connected = False

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(self._window)
            batch, self._pending = self._pending, {}
            live = {mid: entry for mid, entry in batch.items() if not entry[1].done()}
            if not live:
                continue
            try:
                results = await self._read([m for m, _ in live.values()])
            except BaseException:  # cancelled (shutdown): a waiting machine must never hang
                for _, future in live.values():
                    future.cancel()
                raise
            for mid, (_, future) in live.items():
                if future.done():
                    continue
                result = results.get(mid) or SignalReadFailed(f"{self.label}: no value returned for {mid}")
                if isinstance(result, ConnectivityError):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def _read(self, machines: Sequence[Any]) -> dict[str, Reading | ConnectivityError]:
        self.batches += 1
        try:
            if not self._connected:
                wait = self._retry_at - time.monotonic()
                if wait > 0 and self._last_error is not None:
                    # Same message while backing off, so health reports only real changes.
                    last = self._last_error
                    return {m.machine_id: type(last)(last.detail) for m in machines}
                await asyncio.wait_for(self._driver.connect(), self._timeout)
                self._connected = True
                log.info("connected to %s", self.label)
            results = await asyncio.wait_for(self._driver.read(machines), self._timeout)
        except TimeoutError:
            error = EndpointUnavailable(f"{self.label}: no answer within {self._timeout:g} s")
            return await self._failed(machines, error)
        except ConnectivityError as exc:
            return await self._failed(machines, exc)
        except Exception as exc:  # a driver bug must not kill every machine's polling for good
            log.exception("unexpected error reading %s", self.label)
            return await self._failed(machines, EndpointUnavailable(f"{self.label}: {type(exc).__name__}: {exc}"))
        self._backoff.reset()
        self._last_error = None
        return results

    async def _failed(
        self, machines: Sequence[Any], error: ConnectivityError
    ) -> dict[str, Reading | ConnectivityError]:
        if self._connected or self._last_error is None or str(error) != str(self._last_error):
            log.warning("%s", error)
        self._connected = False
        self._last_error = error
        self._retry_at = time.monotonic() + self._backoff.next_delay()
        await self._driver.close()
        return {m.machine_id: type(error)(error.detail) for m in machines}
