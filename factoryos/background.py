"""A server duty's loop as a task that lives as long as a `with` block (the lifespan's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def running(loop: Coroutine[Any, Any, Any], name: str) -> AsyncIterator[asyncio.Task[Any]]:
    """Run `loop` (a duty's `run_forever()`) as a task named `name`; cancelled and awaited on exit."""
    task = asyncio.create_task(loop, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
