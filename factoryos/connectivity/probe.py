"""*Test connection*: read one machine once with settings that are not saved yet.

The same driver as the poller's, a fresh connection that is closed again, one read. Failures
are the errors the poller would put in the connection's health, so what the form shows is what
polling will show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from factoryos.connectivity.connection_models import BrowsedNode, BrowseOut, ConnectionProbeOut, ProbeReading
from factoryos.connectivity.driver import Reading
from factoryos.connectivity.errors import ConnectivityError, EndpointUnavailable, SignalReadFailed
from factoryos.connectivity.machine_config import AnyMachine, OpcUaEndpoint
from factoryos.connectivity.poller import PollerSettings, make_driver

T = TypeVar("T")


class _Connectable(Protocol):
    async def connect(self) -> None: ...
    async def close(self) -> None: ...


async def _once(driver: _Connectable, label: str, limit: float, work: Callable[[], Awaitable[T]]) -> T:
    """Connect, do one thing, close: each step within `limit` s; every failure a `ConnectivityError`."""
    try:
        await asyncio.wait_for(driver.connect(), limit)
        return await asyncio.wait_for(work(), limit)
    except TimeoutError:
        raise EndpointUnavailable(f"{label}: no answer within {limit:g} s") from None
    except ConnectivityError:
        raise
    except Exception as exc:  # a driver bug is a failed test, never a 500
        raise EndpointUnavailable(f"{label}: {type(exc).__name__}: {exc}") from None
    finally:
        await driver.close()


async def read_once(machine: AnyMachine, settings: PollerSettings | None = None) -> Reading:
    """One reading of `machine`; raises `ConnectivityError`."""
    driver = make_driver(machine, settings or PollerSettings())
    label = machine.endpoint.label
    results = await _once(driver, label, 2 * machine.endpoint.timeout, lambda: driver.read([machine]))
    result = results.get(machine.machine_id) or SignalReadFailed(f"{label}: no value returned")
    if isinstance(result, ConnectivityError):
        raise result
    return result


def probe_connection(machine: AnyMachine) -> ConnectionProbeOut:
    """Read once from a thread without an event loop (a request's worker thread)."""
    started = time.monotonic()
    try:
        reading = asyncio.run(read_once(machine))
    except ConnectivityError as exc:
        return ConnectionProbeOut(ok=False, reading=None, error=exc.detail, error_code=exc.code,
                                  elapsed_ms=round((time.monotonic() - started) * 1000))
    return ConnectionProbeOut(
        ok=True, error=None, error_code=None, elapsed_ms=round((time.monotonic() - started) * 1000),
        reading=ProbeReading(good_raw=reading.good.raw, reject_raw=reading.reject.raw, state_code=reading.state_code,
                             state=machine.status_map.state_for(reading.state_code), alarm_code=reading.alarm_code),
    )


BROWSE_LIMIT = 500  # children listed per node: a picker at a terminal, not an export


async def browse_children(endpoint: OpcUaEndpoint, node_id: str | None,
                          limit: int = BROWSE_LIMIT) -> tuple[list[BrowsedNode], bool]:
    """The children of one node over a fresh connection that is closed again; raises `ConnectivityError`."""
    from factoryos.connectivity.opcua_driver import OpcUaDriver

    driver = OpcUaDriver(endpoint)
    return await _once(driver, endpoint.url, 2 * endpoint.timeout, lambda: driver.children(node_id, limit))


def browse_endpoint(endpoint: OpcUaEndpoint, node_id: str | None) -> BrowseOut:
    """Browse from a thread without an event loop (a request's worker thread). A server that
    cannot be reached is an answer (`ok` false, the error as health would word it)."""
    try:
        nodes, truncated = asyncio.run(browse_children(endpoint, node_id))
    except ConnectivityError as exc:
        return BrowseOut(ok=False, node_id=node_id, nodes=[], truncated=False, error=exc.detail, error_code=exc.code)
    return BrowseOut(ok=True, node_id=node_id, nodes=nodes, truncated=truncated, error=None, error_code=None)
