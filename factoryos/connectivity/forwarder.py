"""Moves events from the poller to the sink through the durable spool.

Every event is spooled first (in small batches, fsync'd), then delivered from the
spool in order. While the sink fails (database down), polling goes on, events pile up
on disk, and delivery retries with exponential back-off; the backlog drains in order
once the sink works again, and after a restart the spool is drained first.

Connection health is the exception: it is a machine's *latest* state, not history, so it
is not spooled. The newest report per machine waits in memory and goes to the sink after
each delivered batch (or at once when nothing else waits); during an outage a machine's
reports replace each other instead of piling up on disk (2,000 machines report every 5 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import Event, Health, RejectedEvents, Sink
from factoryos.connectivity.spool import EventSpool

log = logging.getLogger(__name__)


class Forwarder:
    def __init__(
        self,
        spool: EventSpool,
        sink: Sink,
        *,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        spool_interval: float = 0.2,
        write_timeout: float = 30.0,
    ) -> None:
        self.spool = spool
        self._sink = sink
        self._batch_size = batch_size
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._spool_interval = spool_interval
        self._write_timeout = write_timeout
        self._buffer: list[Event] = []
        self._health: dict[str, Health] = {}  # newest report per machine, not yet delivered
        self._spooling = 0  # events taken from the buffer whose spool write is in progress
        self._buffered = asyncio.Event()
        self._spooled = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0
        self.last_error: str | None = None
        self.paused = False  # set while the database is being replaced: events wait in the spool

    @property
    def pending(self) -> int:
        """Events accepted but not yet confirmed by the sink."""
        return len(self._buffer) + self._spooling + len(self.spool) + len(self._health)

    def submit(self, events: Sequence[Event]) -> None:
        """Accept events without waiting (called from the poll loops)."""
        spooled = False
        for event in events:
            if isinstance(event, Health):
                held = self._health.get(event.machine_id)
                if held is None or event.at >= held.at:
                    self._health[event.machine_id] = event
            else:
                self._buffer.append(event)
                spooled = True
        if spooled:
            self._buffered.set()
        else:
            self._spooled.set()  # only health: wake the delivery loop

    async def start(self) -> None:
        self._spooled.set()  # deliver what a previous run left behind
        self._tasks = [
            asyncio.create_task(self._spool_loop(), name="spool writer"),
            asyncio.create_task(self._drain_loop(), name="spool drain"),
        ]

    async def wait_delivered(self, timeout: float) -> bool:
        """Wait until everything submitted so far reached the sink; False on timeout."""

        async def _empty() -> None:
            while self.pending:
                await asyncio.sleep(0.02)

        try:
            await asyncio.wait_for(_empty(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout: float = 5.0) -> None:
        """Spool what is buffered, try to deliver for up to `timeout` s, then close the spool."""
        if not self._tasks:
            return
        spool_task, drain_task = self._tasks
        self._stopping = True
        self._buffered.set()
        await spool_task
        if not await self.wait_delivered(timeout):
            log.warning("%d events stay spooled in %s for the next start", len(self.spool), self.spool.path)
        drain_task.cancel()
        await asyncio.gather(drain_task, return_exceptions=True)
        self._tasks = []
        self.spool.close()

    async def _spool_loop(self) -> None:
        while True:
            await self._buffered.wait()
            if not self._stopping:
                await asyncio.sleep(self._spool_interval)  # gather a batch: one fsync per batch
            self._buffered.clear()
            batch, self._buffer = self._buffer, []
            if batch:
                self._spooling = len(batch)
                try:
                    await asyncio.to_thread(self.spool.append, batch)
                except Exception:
                    log.exception("cannot write the spool %s; keeping %d events in memory", self.spool.path, len(batch))
                    self._buffer[:0] = batch
                    self._spooling = 0
                    if self._stopping:
                        return
                    await asyncio.sleep(1.0)
                    self._buffered.set()
                    continue
                self._spooling = 0
                self._spooled.set()
            if self._stopping:
                return

    async def _drain_loop(self) -> None:
        while True:
            while self.paused:
                await asyncio.sleep(0.2)
            self._spooled.clear()
            rows = await asyncio.to_thread(self.spool.peek, self._batch_size)
            if not rows:
                if self._health and not await self._deliver_health():
                    await asyncio.sleep(self._backoff.next_delay())
                    continue
                await self._spooled.wait()
                continue
            last_seq = rows[-1][0]
            events = [event for _, event in rows]
            set_aside = 0
            try:
                await asyncio.wait_for(self._sink.write(events), self._write_timeout)
            except RejectedEvents as exc:
                reason = str(exc) or type(exc).__name__
                if exc.events is None:
                    log.error("sink rejected %d events for good (set aside in the spool): %s", len(events), reason)
                    await asyncio.to_thread(self.spool.reject, last_seq, reason)
                    continue
                rejected = {id(e) for e in exc.events}
                seqs = [seq for seq, event in rows if id(event) in rejected]
                log.error("sink rejected %d of %d events for good (set aside in the spool): %s",
                          len(seqs), len(events), reason)
                await asyncio.to_thread(self.spool.set_aside, seqs, reason)
                set_aside = len(seqs)
            except Exception as exc:
                delay = self._backoff.next_delay()
                if self.last_error is None:
                    log.warning("sink unavailable, spooling events (%s)", exc)
                self.last_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(delay)
                continue
            await asyncio.to_thread(self.spool.ack, last_seq)
            self.delivered += len(events) - set_aside
            if self.last_error is not None:
                log.info("sink available again; delivering %d spooled events", len(self.spool))
            self.last_error = None
            self._backoff.reset()
            if self._health:
                await self._deliver_health()

    async def _deliver_health(self) -> bool:
        """Write the held health reports; on failure keep them (a newer report still wins)."""
        held, self._health = self._health, {}
        try:
            await asyncio.wait_for(self._sink.write(list(held.values())), self._write_timeout)
        except RejectedEvents as exc:  # their machines are gone: nothing to keep
            log.debug("health of %d machines not stored: %s", len(held), exc)
            return True
        except Exception as exc:
            for machine_id, event in held.items():
                newer = self._health.get(machine_id)
                if newer is None or newer.at < event.at:
                    self._health[machine_id] = event
            if self.last_error is None:
                log.warning("sink unavailable, holding connection health (%s)", exc)
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self.delivered += len(held)
        return True
