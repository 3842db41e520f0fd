"""The poller's sink into PostgreSQL: count buckets, counter baselines and anomalies, state
intervals, connection health.

A counter baseline travels on the count delta (or anomaly) it closes and is stored in the
same transaction, so stored counts and baselines always agree (see `counter_state`).

Events are grouped per company and stored in that company's tenant transaction (the
poller runs as the app role, under RLS), from a worker thread so the event loop never
waits on the database. A database error propagates: the forwarder keeps the events
spooled and retries them, which the idempotent writers make safe. Events that can never
be stored (their machine was deleted) come back as `RejectedEvents` while the rest of
the batch is stored.

A stop still going on has no closing state change to trigger its downtime event, so
`sweep_forever` asks `flag_overdue_stops` about every connected company now and then.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, Engine

from factoryos.connectivity.connections import record_health
from factoryos.connectivity.events import (
    CountDelta,
    CounterAnomaly,
    CounterBaseline,
    Event,
    Health,
    RejectedEvents,
    StateChange,
)
from factoryos.connectivity.machine_ref import parse_poll_id
from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ValidationFailed
from factoryos.production.anomalies import AnomalyRow, record_anomalies
from factoryos.production.counter_state import CounterStateRow, record_counter_state
from factoryos.production.signals import CountRow, flag_overdue_stops, record_counts
from factoryos.production.state_batch import StateRow, record_state_changes

log = logging.getLogger(__name__)

Item = tuple[UUID, Event]  # (machine id, event)


def _store(conn: Connection, tenant_id: UUID, items: Sequence[Item]) -> None:
    counts = [CountRow(m, e.minute_utc, e.good, e.reject, e.key) for m, e in items if isinstance(e, CountDelta)]
    if counts:
        record_counts(conn, tenant_id, counts)
    anomalies = [
        AnomalyRow(m, e.signal, e.previous_raw, e.raw, e.previous_at, e.detected_at, e.delta, e.allowed, e.key)
        for m, e in items if isinstance(e, CounterAnomaly)
    ]
    if anomalies:
        record_anomalies(conn, tenant_id, anomalies)
    baselines = list(_baselines(items))
    if baselines:
        record_counter_state(conn, tenant_id, baselines)
    changes = [StateRow(m, e.state.value, e.raw_code, e.at) for m, e in items if isinstance(e, StateChange)]
    if changes:
        record_state_changes(conn, tenant_id, changes)
    record_health(conn, tenant_id, [(m, e) for m, e in items if isinstance(e, Health)])


def _baselines(items: Sequence[Item]) -> Iterable[CounterStateRow]:
    for m, e in items:
        if isinstance(e, CountDelta) and e.raw_at is not None:
            if e.good_raw is not None:
                yield CounterStateRow(m, "good", e.good_raw, e.raw_at)
            if e.reject_raw is not None:
                yield CounterStateRow(m, "reject", e.reject_raw, e.raw_at)
        elif isinstance(e, CounterBaseline):
            yield CounterStateRow(m, "good", e.good_raw, e.at)
            yield CounterStateRow(m, "reject", e.reject_raw, e.at)
        elif isinstance(e, CounterAnomaly):
            yield CounterStateRow(m, e.signal, e.raw, e.detected_at)


class DbSink:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.swept = 0  # downtime events opened by sweeps so far

    async def write(self, events: Sequence[Event]) -> None:
        by_tenant: dict[UUID, list[Item]] = defaultdict(list)
        rejected: list[Event] = []
        for event in events:
            ref = parse_poll_id(event.machine_id)
            if ref is None:
                rejected.append(event)
            else:
                by_tenant[ref[0]].append((ref[1], event))
        for tenant_id, items in by_tenant.items():
            rejected += await asyncio.to_thread(self._write_tenant, tenant_id, items)
        if rejected:
            raise RejectedEvents(f"{len(rejected)} events name machines that do not exist", rejected)

    def _write_tenant(self, tenant_id: UUID, items: list[Item]) -> list[Event]:
        try:
            with tenant_transaction(self._engine, tenant_id) as conn:
                _store(conn, tenant_id, items)
            return []
        except ValidationFailed:
            pass  # one bad machine fails the whole batch: store machine by machine to find it
        by_machine: dict[UUID, list[Item]] = defaultdict(list)
        for item in items:
            by_machine[item[0]].append(item)
        rejected: list[Event] = []
        with tenant_transaction(self._engine, tenant_id) as conn:
            for machine_id, group in by_machine.items():
                try:
                    with conn.begin_nested():
                        _store(conn, tenant_id, group)
                except ValidationFailed as exc:
                    log.warning("dropping %d events of machine %s (company %s): %s",
                                len(group), machine_id, tenant_id, exc)
                    rejected.extend(event for _, event in group)
        return rejected

    async def sweep(self, tenants: Iterable[UUID], now: datetime) -> int:
        """Open downtime events for ongoing stops that reached their site's threshold by `now`."""
        return await asyncio.to_thread(self._sweep, list(tenants), now)

    def _sweep(self, tenants: list[UUID], now: datetime) -> int:
        opened = 0
        for tenant_id in tenants:
            with tenant_transaction(self._engine, tenant_id) as conn:
                opened += flag_overdue_stops(conn, tenant_id, now)
        self.swept += opened
        return opened

    async def sweep_forever(
        self,
        tenants: Callable[[], Iterable[UUID]],
        *,
        interval: float = 15.0,
        lag: float = 3.0,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        """Sweep every `interval` s. `now` is held back by `lag` s, the time a state change may
        still be on its way to the database, and no sweep runs while `ready()` says the
        events are backlogged: a stop that already ended must not be judged as ongoing."""
        while True:
            await asyncio.sleep(interval)
            if not ready():
                continue
            try:
                await self.sweep(tenants(), datetime.now(UTC) - timedelta(seconds=lag))
            except Exception as exc:  # database down: the forwarder reports it; try again next round
                log.debug("downtime sweep failed: %s", exc)
