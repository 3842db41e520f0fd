"""A suspect reset holds both counters: when the good and the reject counter drop in the same
reading, or one after the other within the grace, and one of the deltas is implausible, the
other is held as an anomaly too.

The monitor's rule first (in one reading, then across readings: pushed apart, polled apart, the
grace running out, a stop while a drop waits), then end to end: a real Modbus simulator whose
counters are set back while the poller is stopped (a PLC restarted with preset values), the
poller restarted from the baselines in PostgreSQL, and a supervisor's accept storing what was
held; a real OPC-UA server pushing the two drops with distinct source times; a Sparkplug B edge
reporting them in two messages through a real broker.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sparkplub_b_packets.core import sparkplug_b_pb2 as pb
from sqlalchemy import text

from factoryos.connectivity.connection_models import ConnectionIn
from factoryos.connectivity.connections import put_connection
from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.driver import Reading
from factoryos.connectivity.events import CountDelta, CounterAnomaly, minute_of
from factoryos.connectivity.machine_config import Acquisition
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.monitor import MachineMonitor
from factoryos.connectivity.simulator import Simulator
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from factoryos.production import anomalies
from tests.connectivity.mqtt_broker import PASSWORD, USER, Broker
from tests.connectivity.plant_wiring import connection_body
from tests.connectivity.sparkplug_edge import ALIASES, GOOD, NS, REJECT, Device, EdgeNode
from tests.connectivity.support import eventually, free_port
from tests.connectivity.test_counter_continuity import U16, U32, at, counts, machine, reading
from tests.connectivity.test_counter_restart import POLL, _anomalies, _connect, _read, _runtime, _seed, _totals
from tests.connectivity.test_mqtt_end_to_end import delivered, running, sparkplug_machine


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


# -- across readings: the two drops pushed or polled apart -----------------------------------

def pushed(*changes: tuple[int, int, float], as_of: float | None = None) -> Reading:
    """One subscription read: each change (good, reject, second) as the server pushed it, stamped
    with its source time, and the latest values as of `as_of` (default: the last change)."""
    earlier = tuple(replace(reading(good, reject), at=at(second)) for good, reject, second in changes)
    good, reject, second = changes[-1]
    return replace(reading(good, reject), at=at(second if as_of is None else as_of), earlier=earlier)


def counted_minutes(events: list) -> dict[datetime, tuple[int, int]]:
    out: dict[datetime, tuple[int, int]] = {}
    for e in events:
        if isinstance(e, CountDelta):
            good, reject = out.get(e.minute_utc, (0, 0))
            out[e.minute_utc] = (good + e.good, reject + e.reject)
    return out


def test_a_restart_pushed_as_two_changes_holds_both_counters() -> None:
    """OPC-UA subscription: the PLC's restart reaches us as two notifications 200 ms apart, the reject
    counter's small drop first. It waits, and the good counter's impossible drop holds it."""
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    monitor.on_reading(pushed((31_002, 580, 2)), at(2.1))
    events = monitor.on_reading(pushed((31_002, 1, 3.0), (30_000, 1, 3.2)), at(3.3))
    assert held(events) == [("good", 31_002, 30_000, 30_000, 1), ("reject", 580, 1, 1, 2)]
    assert counts(events) == (2, 0)  # the parts before the reset, flushed ahead of the anomalies
    assert counts(monitor.flush()) == (0, 0)
    assert (monitor.status().good_total, monitor.status().reject_total) == (2, 0)
    monitor.on_reading(pushed((30_001, 1, 5)), at(5.1))  # the baselines moved on
    assert counts(monitor.flush()) == (1, 0)


def test_the_two_changes_may_come_in_two_polls_either_way_round() -> None:
    # The impossible drop first: it is an anomaly at once, and the reject drop in the next poll joins it.
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    events = monitor.on_reading(pushed((30_000, 580, 1.0)), at(1.1))
    assert held(events) == [("good", 31_000, 30_000, 30_000, 2)]
    events = monitor.on_reading(pushed((30_000, 1, 1.4)), at(2.1))
    assert held(events) == [("reject", 580, 1, 1, 1)]
    assert counts(events + monitor.flush()) == (0, 0)
    # The plausible drop first: it waits over the poll (the good counter unchanged meanwhile).
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    events = monitor.on_reading(pushed((31_000, 1, 1.0)), at(1.1))
    assert held(events) == [] and counts(events + monitor.close_minutes(at(1.1))) == (0, 0)
    assert monitor.status().reject_total == 0
    events = monitor.on_reading(pushed((30_000, 1, 1.4)), at(2.1))
    assert held(events) == [("good", 31_000, 30_000, 30_000, 1), ("reject", 580, 1, 1, 2)]
    assert counts(events + monitor.flush()) == (0, 0)


def test_a_poll_between_the_two_writes_of_a_restart_holds_both() -> None:
    """Polled (Modbus): the poll read the registers while the restarting PLC had written only the
    reject counter; the next poll reads the good counter's impossible drop."""
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    events = monitor.on_reading(reading(31_001, 1), at(1))
    assert held(events) == []
    events = monitor.on_reading(reading(30_000, 1), at(2))
    assert held(events) == [("good", 31_001, 30_000, 30_000, 2), ("reject", 580, 1, 1, 2)]
    assert counts(events + monitor.flush()) == (1, 0)


def test_a_lone_drop_counts_at_its_own_time_once_the_grace_is_over() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    # Reject reset at 06:00:58; only state changes and the good counter's silence follow.
    monitor.on_reading(pushed((31_000, 2, 48)), at(48.1))
    assert counts(monitor.close_minutes(at(48.1))) == (0, 0)
    monitor.on_reading(pushed((31_000, 2, 49), as_of=50), at(50.1))  # within the grace: still waiting
    assert monitor.status().reject_total == 0
    events = monitor.on_reading(pushed((31_000, 2, 50), as_of=51.5), at(51.6))  # 3.5 s after the drop
    assert held(events) == []
    assert monitor.status().reject_total == 2
    assert counted_minutes(events + monitor.flush()) == {minute_of(at(48)): (0, 2)}  # the minute it was read in
    # A drop of the good counter now stands alone.
    events = monitor.on_reading(pushed((30_000, 2, 53)), at(53.1))
    assert [signal for signal, *_ in held(events)] == ["good"]
    events = monitor.on_reading(pushed((30_000, 2, 60)), at(60.1))
    assert held(events) == []
    assert counts(monitor.flush()) == (0, 0)


def test_the_other_counter_read_again_ends_the_wait() -> None:
    # Polled: the next poll reads the good counter again, not gone back: the rejects count.
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(31_000, 580), at(0))
    monitor.on_reading(reading(31_001, 2), at(1))
    assert monitor.status().reject_total == 0
    monitor.on_reading(reading(31_002, 2), at(2))
    assert (monitor.status().good_total, monitor.status().reject_total) == (2, 2)
    # Pushed: the good counter's next change (up) ends it at once, well within the grace.
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    monitor.on_reading(pushed((31_000, 2, 1.0)), at(1.05))
    assert monitor.status().reject_total == 0
    monitor.on_reading(pushed((31_001, 2, 1.1)), at(1.2))
    assert (monitor.status().good_total, monitor.status().reject_total) == (1, 2)
    assert counts(monitor.flush()) == (1, 2)


def test_a_plausible_reset_of_both_counters_across_two_readings_counts() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    monitor.on_reading(pushed((2, 580, 5.0), (2, 1, 5.3)), at(5.4))  # the shift change's reset, then parts
    assert counts(monitor.flush()) == (2, 1)


def test_parts_after_a_waiting_drop_wait_with_it() -> None:
    # The good counter drops to a stale 3 and counts one more before the reject counter's impossible drop:
    # one anomaly for all it claimed since its drop.
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    events = monitor.on_reading(pushed((3, 580, 10.0), (4, 580, 10.5), (4, 500, 10.7)), at(10.8))
    assert held(events) == [("good", 31_000, 4, 4, 16), ("reject", 580, 500, 500, 1)]
    assert counts(events + monitor.flush()) == (0, 0)
    # The same while the reject counter stays: all of it counts once the wait ends, each at its time.
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    monitor.on_reading(pushed((3, 580, 10.0), (4, 580, 10.5)), at(10.6))
    assert monitor.status().good_total == 0
    monitor.on_reading(pushed((4, 581, 11.0)), at(11.1))
    assert counts(monitor.flush()) == (4, 1)


def test_a_counter_that_wraps_alone_counts_exactly() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(reading(10, U16 - 2), at(0))
    monitor.on_reading(reading(12, 1), at(3))  # the 16-bit reject counter went round: 3 rejects
    monitor.on_reading(reading(13, 2), at(4))
    assert held(monitor.flush()) == []
    assert (monitor.status().good_total, monitor.status().reject_total) == (3, 4)


def test_a_drop_still_waiting_at_a_stop_counts_and_a_crash_reads_it_again() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run")
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    monitor.on_reading(pushed((31_001, 581, 1.0)), at(1.1))
    monitor.on_reading(pushed((31_001, 1, 1.5)), at(1.6))  # waits for the good counter
    # Meanwhile what may be stored keeps the reject counter's value from before its drop …
    stored = [e for e in monitor.close_minutes(at(70)) if isinstance(e, CountDelta)]
    assert counts(stored) == (1, 1) and (stored[-1].good_raw, stored[-1].reject_raw) == (31_001, 581)
    # … so a crash now loses nothing: a poller started from it reads the drop again.
    again = MachineMonitor(machine(ideal=1.0), "run2", baselines={
        "good": StoredCounter(31_001, stored[-1].raw_at), "reject": StoredCounter(581, stored[-1].raw_at)})
    again.on_reading(reading(31_001, 1), at(75))
    assert counts(again.flush()) == (0, 1)
    # A clean stop counts what waits, with the baseline that includes it.
    emitted = monitor.flush()
    assert counts(emitted) == (0, 1)
    assert (emitted[-1].good_raw, emitted[-1].reject_raw) == (31_001, 1)
    assert monitor.baselines()["reject"].raw == 1


def test_without_a_grace_the_drops_are_judged_one_reading_at_a_time() -> None:
    monitor = MachineMonitor(machine(ideal=1.0), "run", suspect_grace=0)
    monitor.on_reading(pushed((31_000, 580, 0)), at(0.1))
    events = monitor.on_reading(pushed((31_000, 3, 3.0), (30_000, 3, 3.2)), at(3.3))
    assert held(events) == [("good", 31_000, 30_000, 30_000, 1)]
    assert counts(events + monitor.flush()) == (0, 3)  # rejects invented


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


# -- end to end: a real OPC-UA server pushing the two drops apart, poller and PostgreSQL -----------

@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("first", ["reject", "good"])
async def test_a_restart_pushed_as_two_notifications_stores_anomalies_not_parts(
        superuser_engine, app_engine, keys, tmp_path: Path, first: str) -> None:
    """The PLC behind an OPC-UA subscription restarts with stale counters, and its server stamps the
    two drops 200 ms apart: two notifications, two polls. Nothing is stored, both wait for a supervisor."""
    tenant, (machine_id,) = _seed(superuser_engine, [0.01])  # 100 parts a second at most
    async with Simulator(1, protocol="opcua", seed=7, opcua_port=free_port(), tick=None) as sim:
        (config,) = sim.machine_configs()
        endpoint = config.endpoint.model_copy(update={"acquisition": Acquisition.SUBSCRIPTION,
                                                      "publishing_interval": 0.05})
        body = connection_body(config.model_copy(update={"endpoint": endpoint}), POLL)
        with tenant_transaction(app_engine, tenant) as conn:
            put_connection(conn, tenant, machine_id, ConnectionIn(**body), keys)
        plc, pid = sim.machines[0], poll_id(tenant, machine_id)
        await sim.set_counters(plc.machine_id, good=31_000, reject=580)
        rt = _runtime(app_engine, keys, tmp_path / "poller")
        await rt.start()
        try:
            assert rt.poller is not None and rt.forwarder is not None
            await _read(rt, [pid], [plc])  # the baseline
            assert rt.poller.machines[pid].endpoint.acquisition is Acquisition.SUBSCRIPTION  # type: ignore[union-attr]
            await sim.set_counters(plc.machine_id, good=31_001, reject=581)  # one part of each: counted
            await _read(rt, [pid], [plc])
            # The restart: the reject counter's drop to 1 alone would be one plausible reject (scrap
            # invented), the good counter's to 30,000 is impossible.
            drops = {"good": 30_000, "reject": 1}
            second = "good" if first == "reject" else "reject"
            await sim.set_counters(plc.machine_id, **{first: drops[first]})
            await asyncio.sleep(0.2)  # two publishing intervals: a poll falls between them
            await sim.set_counters(plc.machine_id, **{second: drops[second]})
            await _read(rt, [pid], [plc])
            rt.poller.flush()
            assert await rt.forwarder.wait_delivered(10)
        finally:
            await rt.stop()
    assert _totals(superuser_engine, machine_id) == (1, 1)  # nothing invented
    rows = sorted(_anomalies(superuser_engine, machine_id))
    assert [(s, prev, raw, delta, status) for s, prev, raw, delta, _, status in rows] == [
        ("good", 31_001, 30_000, 30_000, "pending"), ("reject", 581, 1, 1, "pending")]
    with superuser_engine.connect() as conn:
        stored = dict(conn.execute(text("select signal, raw from machine_counter_state where machine_id = :m"),
                                   {"m": machine_id}).all())
    assert stored == {"good": 30_000, "reject": 1}  # the next parts count from the new values


# -- end to end: a Sparkplug B edge reporting the two drops in two messages, on a real broker ------

class ReportingEdge(EdgeNode):
    async def report(self, name: str, **totals: int) -> None:
        """One DDATA with only these counters' new totals (an edge reports by exception)."""
        assert self._client is not None
        device = self.devices[name]
        payload = self._payload()
        for counter, value in totals.items():
            setattr(device, counter, value)
            self._metric(payload, None, value, pb.UInt32, ALIASES[GOOD if counter == "good" else REJECT])
        await self._client.publish(f"{NS}/{self.group}/DDATA/{self.node}/{name}", payload.SerializeToString(),
                                   qos=1)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_sparkplug_edge_reporting_the_two_drops_apart_stores_anomalies_not_parts(
        broker: Broker, tmp_path: Path) -> None:
    """MQTT readings hold what was last published: polls in between do not read the good counter
    again, so the reject counter's drop waits for the good counter's message."""
    edge = ReportingEdge("127.0.0.1", broker.port, USER, PASSWORD, devices={"Press1": Device(31_000, 580)})
    await edge.start()
    try:
        svc, sink = await running([sparkplug_machine(broker).model_copy(update={"ideal_cycle_time": 0.01})],
                                  tmp_path)
        try:
            assert svc.poller is not None
            poller = svc.poller

            async def read(good: int, reject: int) -> None:
                await eventually(lambda: (poller.status("press1").good_raw, poller.status("press1").reject_raw)
                                 == (good, reject), what=f"counters {good}, {reject} read")

            await read(31_000, 580)
            await edge.report("Press1", good=31_001, reject=581)
            await read(31_001, 581)
            await edge.report("Press1", reject=1)
            await read(31_001, 1)
            await asyncio.sleep(0.3)  # three polls read the reject counter's drop alone
            await edge.report("Press1", good=30_000)
            await read(30_000, 1)
            await delivered(svc)
        finally:
            await svc.stop()
    finally:
        await edge.stop()
    assert sink.counts("press1") == (1, 1)
    assert sorted((a.signal, a.previous_raw, a.raw, a.delta) for a in sink.anomalies("press1")) == [
        ("good", 31_001, 30_000, 30_000), ("reject", 581, 1, 1)]
