"""The server's duties as part of its lifespan: who runs them, and starting and stopping them.

The duties are what must happen once per installation: polling machines, the backup schedule (with
audit anchoring and WAL archiving), webhook deliveries, MQTT publishing and the preventive work
orders of maintenance plans that fell due. Without a claim (tests, a lone process) this process runs
them from start to stop. With a `DutyClaim` it runs them only while it holds the installation's duty
lock in PostgreSQL (`factoryos.duties`): a loop takes the lock when it is free, starts the duties
after the takeover delay, checks the lock every few seconds and stops the duties when the lock is
lost, then competes again.

A claim may also name a file lock in the data directory: of several worker processes on one host
(`factoryos serve --workers N`), only the one holding that file competes in the database, so a host
keeps one waiting connection instead of N.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.applications import Starlette

from factoryos.config import Settings
from factoryos.duties import DutyLock
from factoryos.integrations.service import webhook_delivery
from factoryos.maintenance.due_duty import due_orders, licensed
from factoryos.process_lock import ProcessLock
from server.metrics import observe_webhook
from server.mqtt_publishing import mqtt_publishing
from server.operations import operations
from server.poller import machine_poller
from server.state import server_state

log = logging.getLogger(__name__)

HOLDER = "polls machines and runs scheduled backups"
NOT_HOLDER = "serves requests only"


@dataclass
class DutyClaim:
    database: DutyLock
    local: ProcessLock | None = None  # several workers on one data directory: one of them competes


@dataclass
class _Run:
    app: Starlette
    settings: Settings
    database_url: str
    engine: Engine
    backup_url: str | None
    poller: bool

    def operations(self, schedule: bool) -> AbstractAsyncContextManager[None]:
        """The licence and the backup service always; the backup schedule, audit anchoring and WAL
        archiving with `schedule`."""
        return operations(self.app, self.settings, self.backup_url, schedule=schedule)

    def maintenance_licensed(self) -> bool:
        """The license in force includes the maintenance module (the evaluation does)."""
        license_state = server_state(self.app).license
        return licensed(license_state.in_force() if license_state else None)

    @asynccontextmanager
    async def tasks(self) -> AsyncIterator[None]:
        """The poller, webhook deliveries, MQTT publishing and due maintenance orders (stopped in that
        reverse order)."""
        state = server_state(self.app)
        async with (
            machine_poller(self.settings, self.database_url, enabled=self.poller) as runtime,
            webhook_delivery(self.settings, self.engine, enabled=True, observe=observe_webhook),
            mqtt_publishing(self.settings, self.engine, enabled=True),
            due_orders(self.engine, enabled=True, interval=self.settings.maintenance_due_seconds,
                       allowed=self.maintenance_licensed),
        ):
            state.poller = runtime
            state.primary = True
            try:
                yield
            finally:
                state.poller = None
                state.primary = False

    @asynccontextmanager
    async def all(self) -> AsyncIterator[None]:
        async with self.operations(True), self.tasks():
            yield


class DutyLoop:
    """Runs the duties while the lock is this process's; a lone task of the lifespan.

    Two parts stop differently. The tasks (poller, webhooks, MQTT) stop the moment the lock is lost.
    The operations (the backup service with its schedule) are replaced by a service without the
    schedule only once no backup or restore of this process runs: a restore in progress terminates
    every connection, the duty connection included, and must neither be cut off nor forgotten
    (its job is looked up in that service); a scheduled backup on two hosts for a while is harmless.
    """

    def __init__(self, run: _Run, claim: DutyClaim) -> None:
        self.run = run
        self.claim = claim
        self.lock = claim.database
        self._ops: AsyncExitStack | None = None
        self._scheduling = False
        self._tasks: AsyncExitStack | None = None
        self._said = False

    async def start(self) -> None:
        server_state(self.run.app).primary = False
        await self._operations(schedule=False)  # requests need the backup service from the first one on
        self._task = asyncio.create_task(self._forever(), name="server duties")

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._stop_tasks()
        await _close(self._ops)
        self._ops = None
        await self.lock.release()
        if self.claim.local is not None:
            self.claim.local.release()

    async def _operations(self, *, schedule: bool) -> None:
        await _close(self._ops)
        self._ops = None
        stack = AsyncExitStack()
        await stack.enter_async_context(self.run.operations(schedule))
        self._ops, self._scheduling = stack, schedule

    def _backups_busy(self) -> bool:
        backups = server_state(self.run.app).backups
        return backups is not None and backups.running is not None

    async def _start_tasks(self) -> None:
        if not self._scheduling:
            while self._backups_busy():  # an on-demand backup finishes in the service it started in
                await asyncio.sleep(1.0)
            await self._operations(schedule=True)
        stack = AsyncExitStack()
        await stack.enter_async_context(self.run.tasks())
        self._tasks = stack

    async def _stop_tasks(self) -> None:
        stack, self._tasks = self._tasks, None
        await _close(stack)

    def _say(self, held: bool) -> None:
        if held or not self._said:
            log.info("process %d %s", os.getpid(), HOLDER if held else NOT_HOLDER)
        self._said = True

    async def _forever(self) -> None:
        while True:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # a duty that failed to start: stop what runs and compete again
                log.exception("the server duties failed; trying again")
                with contextlib.suppress(Exception):
                    await self._stop_tasks()
                    await self.lock.release()
                await asyncio.sleep(self.lock.retry_seconds)

    async def _round(self) -> None:
        if not self.lock.held:
            if self._scheduling and not self._backups_busy():
                await self._operations(schedule=False)
            local = self.claim.local
            if (local is not None and not local.try_acquire()) or not await self.lock.try_acquire():
                self._say(False)
                await asyncio.sleep(self.lock.retry_seconds)
                return
            log.info("took the duty lock; starting the duties in %.0f s", self.lock.takeover_delay)
            await asyncio.sleep(self.lock.takeover_delay)  # a previous holder has stopped by then
            if not await self.lock.check():
                return
            self._say(True)
            await self._start_tasks()
            return
        await asyncio.sleep(self.lock.check_seconds)
        if await self.lock.check() or await self.lock.try_acquire():
            return  # still ours (or taken again at once: nobody else can have started meanwhile)
        log.warning("process %d lost the duty lock: stopping the duties", os.getpid())
        await self._stop_tasks()


async def _close(stack: AsyncExitStack | None) -> None:
    if stack is not None:
        await stack.aclose()


@asynccontextmanager
async def server_duties(app: Starlette, settings: Settings, database_url: str, engine: Engine,
                        backup_url: str | None, *, poller: bool, claim: DutyClaim | None) -> AsyncIterator[None]:
    """The duties for the app's lifespan: all of them in this process without a claim; with one, while
    this process holds the installation's duty lock."""
    run = _Run(app, settings, database_url, engine, backup_url, poller)
    if claim is None:
        async with run.all():
            yield
        return
    loop = DutyLoop(run, claim)
    await loop.start()
    try:
        yield
    finally:
        await loop.stop()
