"""Modbus TCP end to end: simulator server → poller → spool → sink, with exact counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import MemorySink, eventually, free_port, hand_set

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.3, coalesce_window=0.01)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # Five machines cover every register layout: 16-bit, CDAB, input registers, BADC int32, ABCD.
    simulator = Simulator(5, protocol="modbus", seed=11, modbus_port=free_port(), tick=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def service(sim: Simulator, tmp_path: Path) -> AsyncIterator[tuple[ConnectivityService, MemorySink]]:
    sink = MemorySink()
    svc = ConnectivityService(
        hand_set(sim.machine_configs(poll_interval=0.1)),
        sink,
        tmp_path / "spool.sqlite3",
        settings=FAST,
        sink_backoff=Backoff(0.05, 0.2),
    )
    await svc.start()
    yield svc, sink
    await svc.stop()


async def observed(svc: ConnectivityService, sim: Simulator, machine_id: str) -> None:
    """Wait until the poller has read the simulator's current counters for this machine."""
    machine = sim.machine(machine_id)
    assert svc.poller is not None
    poller = svc.poller
    await eventually(
        lambda: (
            (poller.status(machine_id).good_raw, poller.status(machine_id).reject_raw)
            == (machine.good_counter, machine.reject_counter)
        ),
        what=f"{machine_id} counters read",
    )


async def delivered(svc: ConnectivityService) -> None:
    assert svc.poller is not None and svc.forwarder is not None
    svc.poller.flush()
    assert await svc.forwarder.wait_delivered(5)


async def test_exact_counts_with_wrap_and_reset(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    ids = [m.machine_id for m in sim.machines]
    for mid in ids:
        await observed(svc, sim, mid)  # baselines

    expected = {mid: [0, 0] for mid in ids}
    for i, mid in enumerate(ids):  # plain increments on every layout
        machine = sim.machine(mid)
        await sim.set_counters(mid, good=machine.good + 40 + i, reject=machine.reject + i)
        expected[mid][0] += 40 + i
        expected[mid][1] += i
    for mid in ids:
        await observed(svc, sim, mid)

    wrap = sim.machines[0]  # 16-bit counters
    assert wrap.counter_bits == 16
    expected[wrap.machine_id][0] += 65530 - wrap.good
    await sim.set_counters(wrap.machine_id, good=65530)
    await observed(svc, sim, wrap.machine_id)
    await sim.set_counters(wrap.machine_id, good=65536 + 5)  # register shows 5: wrapped by 11
    expected[wrap.machine_id][0] += 11
    await observed(svc, sim, wrap.machine_id)

    reset = sim.machines[4]  # the PLC zeroes its counters, then makes 7 good and 1 reject
    await sim.set_counters(reset.machine_id, good=0, reject=0)
    await observed(svc, sim, reset.machine_id)
    await sim.set_counters(reset.machine_id, good=7, reject=1)
    expected[reset.machine_id][0] += 7
    expected[reset.machine_id][1] += 1
    await observed(svc, sim, reset.machine_id)

    await delivered(svc)
    for mid in ids:
        assert sink.counts(mid) == tuple(expected[mid]), mid
    keys = [e.key for e in sink.received if e.kind not in ("health", "baseline")]  # type: ignore[union-attr]
    assert len(keys) == len(set(keys))
    assert svc.poller is not None
    (session,) = svc.poller.sessions.values()  # one connection for all five machines …
    polls = sum(svc.poller.status(mid).polls for mid in ids)
    assert polls >= 2 * session.batches  # … and their polls coalesced into shared batches


async def test_states_map_through_the_status_table(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    mid = sim.machines[2].machine_id  # read from input registers
    assert svc.poller is not None
    await eventually(lambda: svc.poller.status(mid).state is MachineState.RUNNING, what="running")  # type: ignore[union-attr]
    await sim.force_state(mid, SimCode.FAULT, alarm=207)
    await eventually(lambda: svc.poller.status(mid).raw_code == SimCode.FAULT, what="fault")  # type: ignore[union-attr]
    await sim.force_state(mid, SimCode.MANUAL)  # not in the status table
    await eventually(lambda: svc.poller.status(mid).raw_code == SimCode.MANUAL, what="manual")  # type: ignore[union-attr]
    await sim.force_state(mid, SimCode.SETUP)
    await eventually(lambda: svc.poller.status(mid).state is MachineState.SETUP, what="setup")  # type: ignore[union-attr]
    await delivered(svc)
    trail = [(c.state, c.raw_code, c.alarm_code) for c in sink.states(mid)]
    assert trail == [
        (MachineState.RUNNING, SimCode.RUNNING, 0),
        (MachineState.UNPLANNED_STOP, SimCode.FAULT, 207),
        (MachineState.UNPLANNED_STOP, SimCode.MANUAL, 0),  # unmapped → documented default
        (MachineState.SETUP, SimCode.SETUP, 0),
    ]


async def test_machine_goes_away_and_comes_back(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    poller = svc.poller
    assert poller is not None
    away, neighbour = sim.machines[1], sim.machines[2]  # neighbours share a merged block read
    for m in (away, neighbour):
        await observed(svc, sim, m.machine_id)

    await sim.set_reachable(away.machine_id, False)
    await eventually(lambda: poller.status(away.machine_id).state is MachineState.NO_DATA, what="no data")
    status = poller.status(away.machine_id)
    assert status.error_code == "signal_read_failed" and "gateway" in (status.last_error or "")
    # While it is away the PLC keeps counting; the neighbour keeps being read.
    await sim.set_counters(away.machine_id, good=away.good + 25, reject=away.reject + 2)
    await sim.set_counters(neighbour.machine_id, good=neighbour.good + 3)
    await observed(svc, sim, neighbour.machine_id)
    assert poller.status(neighbour.machine_id).state is MachineState.RUNNING

    await sim.set_reachable(away.machine_id, True)
    await observed(svc, sim, away.machine_id)
    await eventually(lambda: poller.status(away.machine_id).state is MachineState.RUNNING, what="back")
    await delivered(svc)
    assert sink.counts(away.machine_id) == (25, 2)  # nothing lost while it was away
    assert sink.counts(neighbour.machine_id) == (3, 0)
    states = [c.state for c in sink.states(away.machine_id)]
    assert states == [MachineState.RUNNING, MachineState.NO_DATA, MachineState.RUNNING]
    health = sink.health[away.machine_id]
    assert health.last_error is None and health.last_ok is not None


async def test_server_restart_reconnects_with_backoff(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    poller = svc.poller
    assert poller is not None and sim.modbus is not None
    ids = [m.machine_id for m in sim.machines]
    for mid in ids:
        await observed(svc, sim, mid)

    await sim.modbus.stop()
    await eventually(lambda: all(poller.status(mid).state is MachineState.NO_DATA for mid in ids), what="all no data")
    assert {poller.status(mid).error_code for mid in ids} == {"endpoint_unavailable"}
    first = sim.machines[3]
    await sim.set_counters(first.machine_id, good=first.good + 9)  # produced during the outage
    await sim.modbus.start()
    await eventually(lambda: all(poller.status(mid).state is MachineState.RUNNING for mid in ids), what="reconnected")
    await observed(svc, sim, first.machine_id)
    await delivered(svc)
    assert sink.counts(first.machine_id) == (9, 0)
    assert all(sink.counts(mid) == (0, 0) for mid in ids if mid != first.machine_id)
    assert all(sink.health[mid].last_error is None for mid in ids)
