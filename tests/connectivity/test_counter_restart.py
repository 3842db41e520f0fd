"""Counter continuity against a real Modbus TCP simulator and PostgreSQL.

The poller runtime is stopped while the PLCs go on counting, and started again on the same
data directory and database: what is stored equals what the PLCs made. Impossible jumps
become counter anomalies, not production.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.connection_models import ConnectionIn
from factoryos.connectivity.connections import put_connection
from factoryos.connectivity.db_sink import DbSink
from factoryos.connectivity.events import CountDelta, CounterAnomaly, CounterBaseline, Event
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.simulator.machine import SimMachine
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from tests.connectivity.plant_wiring import SIM_MAPPING, connection_body
from tests.connectivity.support import eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)
POLL = 0.1


def _seed(superuser: Engine, cycles: list[float]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    tenant = uuid.uuid4()
    with superuser.begin() as conn:
        conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Counter Works')"), {"t": tenant})
        site = conn.execute(text("insert into sites (tenant_id, name, code, timezone) values (:t, 'Plant', 'P', 'UTC') "
                                 "returning id"), {"t": tenant}).scalar_one()
        ids = [
            conn.execute(text("insert into machines (tenant_id, site_id, name, code, ideal_cycle_seconds, "
                              "status_mapping) values (:t, :s, 'Press', :c, :cycle, cast(:m as jsonb)) returning id"),
                         {"t": tenant, "s": site, "c": f"M{i}", "cycle": cycle, "m": json.dumps(SIM_MAPPING)}
                         ).scalar_one()
            for i, cycle in enumerate(cycles)
        ]
    return tenant, ids


def _totals(superuser: Engine, machine_id: uuid.UUID) -> tuple[int, int]:
    with superuser.connect() as conn:
        row = conn.execute(text("select coalesce(sum(good), 0), coalesce(sum(reject), 0) from machine_count_buckets "
                                "where machine_id = :m"), {"m": machine_id}).one()
    return int(row[0]), int(row[1])


def _anomalies(superuser: Engine, machine_id: uuid.UUID) -> list:
    with superuser.connect() as conn:
        return list(conn.execute(text("select signal, previous_raw, raw, delta, allowed, status "
                                      "from counter_anomalies where machine_id = :m order by detected_at"),
                                 {"m": machine_id}))


@pytest.fixture
def keys(settings) -> DerivedKeys:
    return DerivedKeys.from_secret(settings.secret_key.get_secret_value())


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "poller"


def _runtime(app_engine: Engine, keys: DerivedKeys, data_dir: Path) -> PollerRuntime:
    return PollerRuntime(app_engine, keys, data_dir, reload_interval=0.3, sweep_interval=60, settings=FAST,
                         sink_backoff=Backoff(0.05, 0.3))


def _connect(app_engine: Engine, keys: DerivedKeys, tenant: uuid.UUID, machine_ids: list[uuid.UUID],
             sim: Simulator) -> None:
    with tenant_transaction(app_engine, tenant) as conn:
        for machine_id, config in zip(machine_ids, sim.machine_configs(), strict=True):
            put_connection(conn, tenant, machine_id, ConnectionIn(**connection_body(config, POLL)), keys)


async def _read(rt: PollerRuntime, pids: list[str], plc: list[SimMachine]) -> None:
    """Until the poller has read every PLC's current counters."""
    def done() -> bool:
        poller = rt.poller
        if poller is None or any(pid not in poller.machines for pid in pids):
            return False
        return all((poller.status(p).good_raw, poller.status(p).reject_raw) == (m.good_counter, m.reject_counter)
                   for p, m in zip(pids, plc, strict=True))
    await eventually(done, what="counters read by the poller")


class Counting:
    """The PLCs make a part every `every` s (and a reject every tenth), until stopped."""

    def __init__(self, sim: Simulator, every: float = 0.1) -> None:
        self.sim, self.every = sim, every
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(self.every)
            tick += 1
            for m in self.sim.machines:
                await self.sim.set_counters(m.machine_id, good=m.good + 1, reject=m.reject + (tick % 10 == 0))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.mark.slow  # restarts the poller and the PLC several times
async def test_restarts_store_exactly_what_the_plc_made(superuser_engine, app_engine, keys, data_dir) -> None:
    # 0.05 s per part: the PLCs' 10 parts a second are well within what these machines make.
    tenant, machine_ids = _seed(superuser_engine, [0.05, 0.05])
    async with Simulator(2, protocol="modbus", seed=21, modbus_port=free_port(), tick=None) as sim:
        _connect(app_engine, keys, tenant, machine_ids, sim)
        pids = [poll_id(tenant, m) for m in machine_ids]
        plc = list(sim.machines)
        assert sim.modbus is not None and sim.modbus.layouts[plc[0].machine_id].counter_bits == 16

        rt = _runtime(app_engine, keys, data_dir)
        await rt.start()
        await _read(rt, pids, plc)  # the first reading ever is the baseline
        start = [(m.good, m.reject) for m in plc]
        counting = Counting(sim)
        counting.start()
        await asyncio.sleep(1.0)
        await rt.stop()  # a clean stop: counts and baselines reach the database
        await asyncio.sleep(1.0)  # the PLCs count on while nothing polls them

        rt = _runtime(app_engine, keys, data_dir)
        await rt.start()
        await asyncio.sleep(1.0)
        # The database goes away (as during a restore): counts and baselines wait in the spool,
        # and the process stops with them still there.
        rt.pause()
        await asyncio.sleep(1.0)
        await rt.stop(drain_timeout=0.1)
        assert (data_dir / "spool.sqlite3").exists()
        await asyncio.sleep(1.0)

        # Started again while the database still refuses the spooled events: the spool's
        # baselines are newer than the database's and must win.
        rt = _runtime(app_engine, keys, data_dir)
        gate, write = asyncio.Event(), rt.sink.write

        async def held(events: Sequence[Event]) -> None:
            if not gate.is_set():
                raise ConnectionError("database not taking writes yet")
            await write(events)

        rt.sink.write = held  # type: ignore[method-assign]
        await rt.start()
        try:
            assert rt.forwarder is not None and len(rt.forwarder.spool) > 0
            gate.set()
            await asyncio.sleep(1.0)
            await counting.stop()
            await _read(rt, pids, plc)
            assert rt.poller is not None
            rt.poller.flush()
            assert await rt.forwarder.wait_delivered(10)
        finally:
            await rt.stop()
    made = [(m.good - g, m.reject - r) for m, (g, r) in zip(plc, start, strict=True)]
    assert made[0][0] > 40  # they really counted, also while stopped
    assert [_totals(superuser_engine, m) for m in machine_ids] == made
    assert [_anomalies(superuser_engine, m) for m in machine_ids] == [[], []]
    with superuser_engine.connect() as conn:
        stored = dict(conn.execute(text("select signal, raw from machine_counter_state where machine_id = :m"),
                                   {"m": machine_ids[1]}).all())
    assert stored == {"good": plc[1].good_counter, "reject": plc[1].reject_counter}


async def test_an_impossible_jump_is_an_anomaly_not_production(superuser_engine, app_engine, keys, data_dir) -> None:
    tenant, machine_ids = _seed(superuser_engine, [1.0, 1.0])
    async with Simulator(2, protocol="modbus", seed=5, modbus_port=free_port(), tick=None) as sim:
        _connect(app_engine, keys, tenant, machine_ids, sim)
        machine_id, m = machine_ids[1], sim.machines[1]  # a 32-bit counter
        pid = poll_id(tenant, machine_id)
        rt = _runtime(app_engine, keys, data_dir)
        await rt.start()
        try:
            assert rt.poller is not None and rt.forwarder is not None
            await _read(rt, [pid], [m])
            before = m.good_counter
            await sim.set_counters(m.machine_id, good=m.good + 1_000_000)
            await _read(rt, [pid], [m])
            await asyncio.sleep(1.2)  # a part a second is what this machine makes
            await sim.set_counters(m.machine_id, good=m.good + 1, reject=m.reject + 1)
            await _read(rt, [pid], [m])
            rt.poller.flush()
            assert await rt.forwarder.wait_delivered(10)
        finally:
            await rt.stop()
    assert _totals(superuser_engine, machine_id) == (1, 1)  # only the parts after the jump
    ((signal, previous, raw, delta, allowed, status),) = _anomalies(superuser_engine, machine_id)
    assert (signal, previous, raw, delta, status) == ("good", before, before + 1_000_000, 1_000_000, "pending")
    assert 1 <= allowed < 10


async def test_the_sink_keeps_the_newest_baseline_and_stores_an_anomaly_once(superuser_engine, app_engine) -> None:
    tenant, (machine_id,) = _seed(superuser_engine, [1.0])
    pid, t = poll_id(tenant, machine_id), datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)
    sink = DbSink(app_engine)
    newer = CountDelta(machine_id=pid, minute_utc=t.replace(second=0), good=3, reject=0, key="k1",
                       good_raw=103, reject_raw=7, raw_at=t)
    jump = CounterAnomaly(machine_id=pid, signal="good", previous_raw=103, raw=1_000_103, previous_at=t,
                          detected_at=t + timedelta(seconds=1), delta=1_000_000, allowed=2, key=f"{pid}|good|j")
    older = CounterBaseline(machine_id=pid, good_raw=100, reject_raw=7, at=t - timedelta(seconds=9))
    for _ in range(2):  # delivered twice, as after a crash before the spool was acknowledged
        await sink.write([newer, jump, older])
    with superuser_engine.connect() as conn:
        state = dict(conn.execute(text("select signal, raw from machine_counter_state where machine_id = :m"),
                                  {"m": machine_id}).all())
    assert state == {"good": 1_000_103, "reject": 7}
    assert _totals(superuser_engine, machine_id) == (3, 0)
    assert [tuple(a) for a in _anomalies(superuser_engine, machine_id)] == [
        ("good", 103, 1_000_103, 1_000_000, 2, "pending")]
