"""Three machines behind one Modbus gateway: one machine's settings or registers never disturb the others.

Real simulator on loopback, real poller; the read plan must follow every change of the
signal map, and a failing block must be split so only the machine it belongs to fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.codec import encode
from factoryos.connectivity.machine_config import ModbusMachine, ModbusSignal
from factoryos.connectivity.modbus_driver import ModbusDriver
from factoryos.connectivity.poller import Poller, PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import MemorySink, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)


@asynccontextmanager
async def running(
    configs: Sequence[ModbusMachine], tmp_path: Path
) -> AsyncIterator[tuple[Poller, MemorySink, ConnectivityService]]:
    sink = MemorySink()
    svc = ConnectivityService(configs, sink, tmp_path / "spool.sqlite3", settings=FAST,
                              sink_backoff=Backoff(0.05, 0.2))
    await svc.start()
    assert svc.poller is not None
    try:
        yield svc.poller, sink, svc
    finally:
        await svc.stop()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # Machines 0 and 1 (holding registers 0–5 and 8–13) are read in one merged block; 2 uses input registers.
    async with Simulator(3, protocol="modbus", seed=7, modbus_port=free_port(), tick=None) as simulator:
        for machine in simulator.machines:
            await simulator.force_state(machine.machine_id, SimCode.RUNNING)
        yield simulator


def configs(sim: Simulator) -> list[ModbusMachine]:
    # No ideal cycle time: the test's counter jumps are not limited by the plausibility bound.
    out = [c.model_copy(update={"ideal_cycle_time": None}) for c in sim.machine_configs(poll_interval=0.1)]
    assert all(isinstance(c, ModbusMachine) for c in out)
    return out  # type: ignore[return-value]


def with_signal(machine: ModbusMachine, name: str, signal: ModbusSignal | None) -> ModbusMachine:
    signals = machine.signals.model_copy(update={name: signal})
    return machine.model_copy(update={"signals": signals})


async def observed(poller: Poller, sim: Simulator, machine_id: str) -> None:
    machine = sim.machine(machine_id)
    await eventually(
        lambda: (poller.status(machine_id).good_raw, poller.status(machine_id).reject_raw)
        == (machine.good_counter, machine.reject_counter),
        what=f"{machine_id} counters read",
    )


async def delivered(svc: ConnectivityService) -> None:
    assert svc.poller is not None and svc.forwarder is not None
    svc.poller.flush()
    assert await svc.forwarder.wait_delivered(5)


UNREAD = {MachineState.OFFLINE, MachineState.NO_DATA}


def never_offline(sink: MemorySink, machine_id: str) -> bool:
    return all(c.state not in UNREAD for c in sink.states(machine_id))


def driver(poller: Poller) -> ModbusDriver:
    (session,) = poller.sessions.values()
    assert isinstance(session.driver, ModbusDriver)
    return session.driver


async def count_on(sim: Simulator, expected: dict[str, list[int]], machine_id: str, good: int, reject: int = 0) -> None:
    machine = sim.machine(machine_id)
    await sim.set_counters(machine_id, good=machine.good + good, reject=machine.reject + reject)
    expected[machine_id][0] += good
    expected[machine_id][1] += reject


async def test_moved_good_counter_is_read_from_its_new_register(sim: Simulator, tmp_path: Path) -> None:
    first = configs(sim)
    a, b, c = (m.machine_id for m in first)
    async with running(first, tmp_path) as (poller, sink, svc):
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        expected = {a: [0, 0], c: [0, 0]}

        # The PLC program of b now keeps good parts in holding 40–41, same encoding as before.
        old = first[1].signals.good
        moved = old.model_copy(update={"address": 40})
        assert sim.modbus is not None
        await sim.modbus.write_registers(1, 40, encode(5000, old.data_type, old.byte_order, old.word_order))
        changes = await poller.update([first[0], with_signal(first[1], "good", moved), first[2]])
        assert changes.restarted == (b,) and not changes.added and not changes.removed
        await count_on(sim, expected, a, 7, 1)
        await eventually(lambda: poller.status(b).good_raw == 5000, what="b read from its new register")
        await delivered(svc)
        before = sink.counts(b)

        await sim.set_counters(b, good=sim.machine(b).good + 50)  # the old register: no longer b's counter
        await sim.modbus.write_registers(1, 40, encode(5012, old.data_type, old.byte_order, old.word_order))
        await count_on(sim, expected, c, 3)
        await count_on(sim, expected, a, 2)
        await eventually(lambda: poller.status(b).good_raw == 5012, what="b's new register counted")
        for mid in (a, c):
            await observed(poller, sim, mid)
        await delivered(svc)

    assert sink.counts(b)[0] - before[0] == 12
    for mid in (a, c):
        assert sink.counts(mid) == tuple(expected[mid]), mid
        assert never_offline(sink, mid)


async def test_alarm_register_added_to_one_machine(sim: Simulator, tmp_path: Path) -> None:
    full = configs(sim)
    first = [full[0], with_signal(full[1], "alarm", None), full[2]]
    a, b, c = (m.machine_id for m in first)
    async with running(first, tmp_path) as (poller, sink, svc):
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        expected = {mid: [0, 0] for mid in (a, b, c)}

        await poller.update(full)  # b gets its alarm register
        await count_on(sim, expected, a, 11)
        await sim.force_state(b, SimCode.FAULT, alarm=207)
        await eventually(lambda: poller.status(b).alarm_code == 207, what="b's alarm read")
        await delivered(svc)
        before = sink.counts(b)  # b restarted: what its first reading counts is the counters' business
        await count_on(sim, expected, c, 4, 2)
        await count_on(sim, expected, b, 5)
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        await delivered(svc)

    for mid in (a, b, c):
        assert never_offline(sink, mid), mid
        assert poller.status(mid).last_error is None
    for mid in (a, c):
        assert sink.counts(mid) == tuple(expected[mid]), mid
    assert sink.counts(b)[0] - before[0] == 5


async def test_bad_register_fails_only_its_machine(sim: Simulator, tmp_path: Path) -> None:
    first = configs(sim)
    a, b, c = (m.machine_id for m in first)
    alarm = first[1].signals.alarm
    assert alarm is not None and alarm.address == 13  # inside the block merged with machine a
    assert sim.modbus is not None
    async with running(first, tmp_path) as (poller, sink, svc):
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        expected = {a: [0, 0], c: [0, 0]}

        sim.modbus.refuse(1, {13})  # b's PLC no longer has that register
        await eventually(lambda: poller.status(b).state in UNREAD, what="b unread")
        status = poller.status(b)
        assert status.error_code == "signal_read_failed"
        message = status.last_error or ""
        assert message.startswith(f"Simulated {b}") and "alarm" in message and "holding 13" in message
        assert "illegal data address" in message and "/" not in message.split(":")[0]

        # From now on the bad register is read alone: one failing request per round, no retries.
        modbus = driver(poller)
        (session,) = poller.sessions.values()
        batches, failed = session.batches, modbus.failed_reads
        await count_on(sim, expected, a, 9)
        await count_on(sim, expected, c, 1, 1)
        await eventually(lambda: session.batches >= batches + 10, what="ten more rounds")
        assert 1 <= modbus.failed_reads - failed <= session.batches - batches
        for mid in (a, c):
            await observed(poller, sim, mid)
            assert poller.status(mid).last_error is None

        sim.modbus.refuse(1, set())
        await eventually(lambda: poller.status(b).last_error is None, what="b back")
        assert poller.status(b).state is MachineState.RUNNING
        await delivered(svc)

    for mid in (a, c):
        assert sink.counts(mid) == tuple(expected[mid]), mid
        assert never_offline(sink, mid), mid


async def test_refused_gap_register_splits_the_block_for_good(sim: Simulator, tmp_path: Path) -> None:
    first = configs(sim)
    a, b, c = (m.machine_id for m in first)
    assert sim.modbus is not None
    async with running(first, tmp_path) as (poller, sink, svc):
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        expected = {mid: [0, 0] for mid in (a, b, c)}

        sim.modbus.refuse(1, {6})  # nobody's register, but inside the merged block of a and b
        (session,) = poller.sessions.values()
        modbus = driver(poller)
        await eventually(lambda: modbus.failed_reads > 0, what="merged block refused")
        batches = session.batches
        await eventually(lambda: session.batches >= batches + 3, what="three more rounds")
        failed = modbus.failed_reads
        for mid, good in ((a, 4), (b, 6), (c, 8)):
            await count_on(sim, expected, mid, good)
        await eventually(lambda: session.batches >= batches + 13, what="ten more rounds")
        for mid in (a, b, c):
            await observed(poller, sim, mid)
        assert modbus.failed_reads == failed  # a and b are now read apart
        await delivered(svc)

    for mid in (a, b, c):
        assert sink.counts(mid) == tuple(expected[mid]), mid
        assert never_offline(sink, mid), mid


async def test_driver_plan_follows_the_signal_map(sim: Simulator) -> None:
    """Same machines, same order, new addresses or signals: the next read uses the new map."""
    first = configs(sim)
    a, b, c = (m.machine_id for m in first)
    no_alarm = [first[0], with_signal(first[1], "alarm", None), first[2]]
    assert sim.modbus is not None
    modbus = ModbusDriver(sim.modbus.host, sim.modbus.port)
    await modbus.connect()
    try:
        readings = await modbus.read(no_alarm)
        assert readings[b].alarm_code is None  # type: ignore[union-attr]
        await sim.force_state(b, SimCode.FAULT, alarm=31)
        readings = await modbus.read(first)  # alarm added, same ids in the same order
        assert readings[b].alarm_code == 31  # type: ignore[union-attr]

        old = first[1].signals.good
        await sim.modbus.write_registers(1, 40, encode(777, old.data_type, old.byte_order, old.word_order))
        moved = [first[0], with_signal(first[1], "good", old.model_copy(update={"address": 40})), first[2]]
        readings = await modbus.read(moved)
        assert readings[b].good.raw == 777  # type: ignore[union-attr]
        assert readings[a].good.raw == sim.machine(a).good_counter  # type: ignore[union-attr]
        assert readings[c].good.raw == sim.machine(c).good_counter  # type: ignore[union-attr]
        readings = await modbus.read(first)  # and back again
        assert readings[b].good.raw == sim.machine(b).good_counter  # type: ignore[union-attr]
    finally:
        await modbus.close()
