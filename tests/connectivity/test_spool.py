"""Store and forward: a failing sink loses nothing, duplicates nothing, keeps order, survives restarts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.events import CountDelta, Health, RejectedEvents, StateChange
from factoryos.connectivity.forwarder import Forwarder
from factoryos.connectivity.spool import EventSpool
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import MemorySink, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def count(i: int, machine: str = "m1") -> CountDelta:
    return CountDelta(
        machine_id=machine, minute_utc=T0 + timedelta(minutes=i), good=i + 1, reject=i % 3, key=f"{machine}|{i}"
    )


def fast_forwarder(spool: EventSpool, sink: MemorySink) -> Forwarder:
    return Forwarder(spool, sink, batch_size=7, backoff=Backoff(0.02, 0.1), spool_interval=0.01)


async def test_spool_round_trip_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = EventSpool(path)
    events = [
        count(0),
        StateChange(machine_id="m1", state=MachineState.OFFLINE, raw_code=None, at=T0, reason="gone", key="s1"),
        Health(machine_id="m1", last_ok=None, last_error="gone", error_code="endpoint_unavailable", at=T0),
    ]
    spool.append(events)
    spool.close()

    reopened = EventSpool(path)
    assert len(reopened) == 3
    rows = reopened.peek(10)
    assert [event for _, event in rows] == events
    reopened.ack(rows[0][0])
    assert [event for _, event in reopened.peek(10)] == events[1:]
    reopened.close()
    with sqlite3.connect(path) as db:  # the file itself, read back independently
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert db.execute("select count(*) from events").fetchone()[0] == 2


async def test_outage_then_recovery_exact_totals_in_order(tmp_path: Path) -> None:
    sink = MemorySink()
    forwarder = fast_forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink)
    await forwarder.start()

    forwarder.submit([count(i) for i in range(5)])
    assert await forwarder.wait_delivered(5)
    assert len(sink.received) == 5  # "delivered" means in the sink, not merely off the buffer

    sink.failing = True
    for i in range(5, 40):  # polling goes on while the database is down
        forwarder.submit([count(i)])
    await eventually(lambda: sink.failures >= 3 and len(forwarder.spool) == 35, what="events spooled during outage")
    assert forwarder.last_error is not None and "database is down" in forwarder.last_error

    sink.failing = False
    assert await forwarder.wait_delivered(5)
    await forwarder.stop()

    keys = [e.key for e in sink.received]  # type: ignore[union-attr]
    assert keys == [f"m1|{i}" for i in range(40)]  # order kept, nothing twice
    assert sink.counts("m1") == (sum(i + 1 for i in range(40)), sum(i % 3 for i in range(40)))
    assert forwarder.last_error is None and forwarder.delivered == 40


async def test_backlog_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    down = MemorySink()
    down.failing = True
    first = fast_forwarder(EventSpool(path), down)
    await first.start()
    first.submit([count(i, "m2") for i in range(20)])
    await first.stop(timeout=0.2)  # database still down at shutdown
    assert down.received == []

    sink = MemorySink()
    second = fast_forwarder(EventSpool(path), sink)
    assert second.pending == 20
    await second.start()
    second.submit([count(20, "m2")])
    assert await second.wait_delivered(5)
    await second.stop()
    assert [e.key for e in sink.received] == [f"m2|{i}" for i in range(21)]  # type: ignore[union-attr]
    assert sink.counts("m2") == (sum(range(1, 22)), sum(i % 3 for i in range(21)))


async def test_lost_acknowledgement_is_replayed_idempotently(tmp_path: Path) -> None:
    sink = MemorySink()
    sink.fail_after_store = 1  # first batch is stored, but the forwarder hears an error
    forwarder = fast_forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink)
    await forwarder.start()
    forwarder.submit([count(i, "m3") for i in range(10)])
    assert await forwarder.wait_delivered(5)
    await forwarder.stop()
    received = [e.key for e in sink.received]  # type: ignore[union-attr]
    assert len(received) > 10  # the first batch really arrived twice …
    assert sink.counts("m3") == (sum(range(1, 11)), sum(i % 3 for i in range(10)))  # … and counted once


async def test_rejected_batches_are_set_aside(tmp_path: Path) -> None:
    class PickySink(MemorySink):
        async def write(self, events):  # type: ignore[no-untyped-def]
            if any(e.machine_id == "unknown" for e in events):
                raise RejectedEvents("machine 'unknown' does not exist")
            await super().write(events)

    sink = PickySink()
    forwarder = Forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink, batch_size=1, spool_interval=0.01)
    await forwarder.start()
    forwarder.submit([count(0, "unknown"), count(1, "m4")])
    assert await forwarder.wait_delivered(5)
    assert forwarder.spool.rejected_count() == 1
    await forwarder.stop()
    assert [e.key for e in sink.received] == ["m4|1"]  # type: ignore[union-attr]


async def test_paused_delivery_keeps_events_in_the_spool_until_resumed(tmp_path: Path) -> None:
    """What the poller does while a restore replaces the database: poll on, deliver later."""
    sink = MemorySink()
    forwarder = fast_forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink)
    await forwarder.start()
    forwarder.submit([count(0)])
    assert await forwarder.wait_delivered(5)

    forwarder.paused = True
    forwarder.submit([count(i) for i in range(1, 20)])
    await eventually(lambda: len(forwarder.spool) == 19, what="events spooled while paused")
    assert not await forwarder.wait_delivered(0.3)
    assert len(sink.received) == 1 and sink.failures == 0  # the sink was not even tried

    forwarder.paused = False
    assert await forwarder.wait_delivered(5)
    await forwarder.stop()
    assert [e.key for e in sink.received] == [f"m1|{i}" for i in range(20)]  # type: ignore[union-attr]


async def test_health_is_held_newest_per_machine_not_spooled(tmp_path: Path) -> None:
    """Health is a machine's latest state: during an outage reports replace each other in memory
    instead of piling up on disk, and the newest one per machine is written once the sink is back."""
    sink = MemorySink()
    forwarder = fast_forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink)
    await forwarder.start()
    sink.failing = True
    for i in range(200):  # 2 machines reporting for a while, with counts in between
        at = T0 + timedelta(seconds=i)
        forwarder.submit([Health(machine_id=f"m{i % 2}", last_ok=at, last_error=None, at=at)])
        if i % 50 == 0:
            forwarder.submit([count(i // 50)])
    await eventually(lambda: sink.failures >= 2 and len(forwarder.spool) == 4, what="counts spooled")
    assert len(forwarder.spool) == 4 and forwarder.pending == 4 + 2  # health held, two reports only
    sink.failing = False
    assert await forwarder.wait_delivered(5)
    await forwarder.stop()
    newest = [T0 + timedelta(seconds=198), T0 + timedelta(seconds=199)]
    assert [e.last_ok for e in (sink.health["m0"], sink.health["m1"])] == newest
    assert sum(isinstance(e, Health) for e in sink.received) == 2
    assert [e.key for e in sink.received if isinstance(e, CountDelta)] == [f"m1|{i}" for i in range(4)]
