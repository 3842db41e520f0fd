"""The database sink behind the real spool: what cannot be stored is set aside, the rest is
stored once however often it is delivered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from factoryos.connectivity.db_sink import DbSink
from factoryos.connectivity.events import CountDelta, Health, RejectedEvents, StateChange
from factoryos.connectivity.forwarder import Forwarder
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.spool import EventSpool
from factoryos.connectivity.states import MachineState
from tests.connectivity.plant_wiring import build_plant

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _totals(engine: Engine, machine_id: str) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(
            text("select coalesce(sum(good), 0), coalesce(sum(reject), 0) from machine_count_buckets "
                 "where machine_id = :m"), {"m": machine_id}).one())


async def test_unstorable_events_are_set_aside_and_the_rest_stored_once(
    http, app_engine: Engine, superuser_engine: Engine, tmp_path: Path
) -> None:
    site = build_plant(http, 2)
    first, second = (m["id"] for m in site.machines)
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    counts = CountDelta(machine_id=site.poll_id(0), minute_utc=minute, good=5, reject=1, key=f"{first}|a")
    more = CountDelta(machine_id=site.poll_id(0), minute_utc=minute, good=2, reject=0, key=f"{first}|b")
    state = StateChange(machine_id=site.poll_id(1), state=MachineState.SETUP, raw_code=5, at=minute, key="s1")
    ghost = CountDelta(machine_id=poll_id(site.tenant_id, uuid.uuid4()), minute_utc=minute, good=9, reject=0,
                       key="ghost")
    foreign = Health(machine_id="SIM-0001", last_ok=minute, last_error=None, at=minute)
    sink = DbSink(app_engine)

    with pytest.raises(RejectedEvents) as rejected:
        await sink.write([counts, ghost, state, foreign, more])
    assert {id(e) for e in rejected.value.events or ()} == {id(ghost), id(foreign)}
    assert _totals(superuser_engine, first) == (7, 1)
    await sink.write([counts, state, more])  # delivered again (the acknowledgement was lost)
    assert _totals(superuser_engine, first) == (7, 1)
    with superuser_engine.connect() as conn:
        intervals = conn.execute(text("select state, raw_code from machine_state_intervals where machine_id = :m"),
                                 {"m": second}).all()
    assert [tuple(i) for i in intervals] == [("setup", 5)]

    # Through the spool: only the unstorable events stay behind, set aside for inspection.
    later = minute + timedelta(seconds=30)
    forwarder = Forwarder(EventSpool(tmp_path / "spool.sqlite3"), sink)
    await forwarder.start()
    forwarder.submit([
        ghost,
        CountDelta(machine_id=site.poll_id(1), minute_utc=minute, good=3, reject=2, key=f"{second}|a"),
        StateChange(machine_id=site.poll_id(1), state=MachineState.RUNNING, raw_code=1, at=later, key="s2"),
    ])
    assert await forwarder.wait_delivered(10)
    assert forwarder.spool.rejected_count() == 1 and forwarder.delivered == 2
    await forwarder.stop()
    assert _totals(superuser_engine, second) == (3, 2)
