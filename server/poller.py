"""The machine poller as a lifespan task of the server (`FACTORYOS_POLLER`, on for `factoryos serve`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from factoryos.config import Settings
from factoryos.connectivity.runtime import PollerBusy, PollerRuntime, freeze_startup_heap

log = logging.getLogger(__name__)


@asynccontextmanager
async def machine_poller(
    settings: Settings, database_url: str, *, enabled: bool
) -> AsyncIterator[PollerRuntime | None]:
    if not enabled:
        yield None
        return
    runtime = PollerRuntime.from_settings(settings, database_url)
    try:
        await runtime.start()
    except PollerBusy as exc:
        # Another process polls with this data directory (`factoryos poller`): serve without polling.
        log.warning("%s; this server does not poll machines", exc)
        yield None
        return
    freeze_startup_heap()
    try:
        yield runtime
    finally:
        await runtime.stop()
