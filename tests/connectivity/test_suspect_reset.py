"""A suspect reset holds both counters: when the good and the reject counter drop in the same
reading and one of the deltas is implausible, the other is held as an anomaly too.

The monitor's rule first, then end to end: a real Modbus simulator whose counters are set back
while the poller is stopped (a PLC restarted with preset values), the poller restarted from the
baselines in PostgreSQL, and a supervisor's accept storing what was held.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.events import CounterAnomaly
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.monitor import MachineMonitor
from factoryos.connectivity.simulator import Simulator
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from factoryos.production import anomalies
from tests.connectivity.support import free_port
from tests.connectivity.test_counter_continuity import U16, U32, at, counts, machine, reading
from tests.connectivity.test_counter_restart import _anomalies, _connect, _read, _runtime, _seed, _totals


def held(events: list) -> list[tuple[str, int | None, int, int, int | None]]:
    return [(e.signal, e.previous_raw, e.raw, e.delta, e.allowed) for e in events if isinstance(e, CounterAnomaly)]


# -- the monitor ------------------------------------------------------------------------------

def test_both_counters_set_back_with_an_impossible_good_count_store_no_rejects() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    monitor.on_reading(reading(31_002, 580), at(2))
    # A PLC restarted with its preset values: both counters go back; good claims 30,000 parts in
    # 2 s, reject 3, which alone would be plausible.
    events = monitor.on_reading(reading(30_000, 3), at(4))
    assert held(events) == [("good", 31_002, 30_000, 30_000, 4), ("reject", 580, 3, 3, 4)]
    assert len({e.key for e in events if isinstance(e, CounterAnomaly)}) == 2
    # The parts before the reset were flushed ahead of the anomalies; none of the reset's parts were counted.
    assert counts(events) == (2, 0)
    assert counts(monitor.flush()) == (0, 0)
    assert (monitor.status().good_total, monitor.status().reject_total) == (2, 0)
    # The baselines moved on: the next parts count normally.
    monitor.on_reading(reading(30_003, 4), at(6))
    assert counts(monitor.flush()) == (3, 1)


def test_an_impossible_reject_count_holds_the_good_count_that_dropped_with_it() -> None:
    monitor = MachineMonitor(machine(ideal=None, plausibility={"reject": {"max_parts": 10}}), "run")
    monitor.on_reading(reading(5_000, 900), at(0))
    events = monitor.on_reading(reading(40, 500), at(1))  # good has no bound of its own
    assert held(events) == [("good", 5_000, 40, 40, None), ("reject", 900, 500, 500, 10)]
    assert counts(monitor.flush()) == (0, 0)


def test_a_restart_from_stored_baselines_onto_seeded_counters_stores_only_anomalies() -> None:
    # The demo's defect: the simulators started again at seeded values below the stored ones.
    stored = {"good": StoredCounter(31_000, at(0)), "reject": StoredCounter(580, at(0))}
    monitor = MachineMonitor(machine(ideal=5.0), "run", baselines=stored)
    events = monitor.on_reading(reading(30_000, 562), at(3 * 3600))  # three hours later
    assert [(signal, delta) for signal, _, _, delta, _ in held(events)] == [("good", 30_000), ("reject", 562)]
    assert counts(events + monitor.flush()) == (0, 0)


def test_a_genuine_reset_of_both_counters_after_a_normal_run_counts() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    events = monitor.on_reading(reading(3, 1), at(5))  # reset at the shift change, then a few parts
    assert held(events) == []
    assert counts(monitor.flush()) == (3, 1)


def test_one_counter_set_back_changes_nothing_for_the_other() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    events = monitor.on_reading(reading(30_000, 581), at(2))  # only good went back
    assert [signal for signal, *_ in held(events)] == ["good"]
    assert counts(monitor.flush()) == (0, 1)
    events = monitor.on_reading(reading(30_002, 2), at(4))  # only reject reset, to a small value
    assert held(events) == []
    assert counts(monitor.flush()) == (2, 2)


def test_a_wrap_with_a_plausible_reset_of_the_other_counter_is_exact() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(U32 - 3, U16 - 1), at(0))
    events = monitor.on_reading(reading(2, 1), at(5))  # both wrapped: 5 good, 2 rejects in 5 s
    assert held(events) == []
    assert counts(monitor.flush()) == (5, 2)


def test_a_reset_to_zero_holds_nothing_it_does_not_claim() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    events = monitor.on_reading(reading(30_000, 0), at(2))  # reject reset to 0 claims no parts
    assert [signal for signal, *_ in held(events)] == ["good"]
    assert counts(monitor.flush()) == (0, 0)


# -- end to end: real Modbus PLC, poller and PostgreSQL ----------------------------------------

@pytest.fixture
def keys(settings) -> DerivedKeys:
    return DerivedKeys.from_secret(settings.secret_key.get_secret_value())


@pytest.mark.asyncio(loop_scope="session")
async def test_a_plc_restarted_with_preset_counters_stores_anomalies_not_parts(
        superuser_engine, app_engine, keys, tmp_path: Path) -> None:
    data_dir = tmp_path / "poller"
    tenant, machine_ids = _seed(superuser_engine, [0.01, 0.01])  # 100 parts a second at most
    async with Simulator(2, protocol="modbus", seed=7, modbus_port=free_port(), tick=None) as sim:
        _connect(app_engine, keys, tenant, machine_ids, sim)
        machine_id, plc = machine_ids[1], sim.machines[1]  # a 32-bit counter
        pid = poll_id(tenant, machine_id)
        await sim.set_counters(plc.machine_id, good=31_000, reject=580)
        rt = _runtime(app_engine, keys, data_dir)
        await rt.start()
        try:
            await _read(rt, [pid], [plc])  # the baseline
            # One part of each: plausible however soon the next poll comes (the bound is at least 1).
            await sim.set_counters(plc.machine_id, good=31_001, reject=581)
            await _read(rt, [pid], [plc])
        finally:
            await rt.stop()  # a clean stop: the counts and baselines are stored
        assert _totals(superuser_engine, machine_id) == (1, 1)

        # The PLC restarts with its preset values while nothing polls it: 12 rejects alone would
        # be plausible, 30,000 parts are not.
        await sim.set_counters(plc.machine_id, good=30_000, reject=12)
        await asyncio.sleep(1.0)
        rt = _runtime(app_engine, keys, data_dir)
        await rt.start()
        try:
            assert rt.poller is not None and rt.forwarder is not None
            await _read(rt, [pid], [plc])
            rt.poller.flush()
            assert await rt.forwarder.wait_delivered(10)
        finally:
            await rt.stop()
    assert _totals(superuser_engine, machine_id) == (1, 1)  # nothing invented, no scrap either
    rows = sorted(_anomalies(superuser_engine, machine_id))  # both detected at once: by signal
    assert [(s, prev, raw, delta, status) for s, prev, raw, delta, _, status in rows] == [
        ("good", 31_001, 30_000, 30_000, "pending"), ("reject", 581, 12, 12, "pending")]
    reject_bound = rows[1][4]
    assert reject_bound is not None and reject_bound >= 12  # held for the reset, not for its size
    with superuser_engine.connect() as conn:
        stored = dict(conn.execute(text("select signal, raw from machine_counter_state where machine_id = :m"),
                                   {"m": machine_id}).all())
    assert stored == {"good": 30_000, "reject": 12}  # the next parts count from the new values

    # A supervisor who knows the rejects were real accepts that one and discards the good jump.
    with superuser_engine.connect() as conn:
        ids = dict(conn.execute(text("select signal, id from counter_anomalies where machine_id = :m"),
                                {"m": machine_id}).all())
    with tenant_transaction(app_engine, tenant) as conn:
        anomalies.decide(conn, tenant, machine_id, ids["reject"], "accept", None, datetime.now(UTC))
        anomalies.decide(conn, tenant, machine_id, ids["good"], "discard", None, datetime.now(UTC))
    assert _totals(superuser_engine, machine_id) == (1, 1 + 12)
