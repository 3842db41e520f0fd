"""OPC-UA end to end: simulator server → poller (one batched Read per server) → spool → sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.poller import PollerSettings
from factoryos.connectivity.service import ConnectivityService
from factoryos.connectivity.simulator import SimCode, Simulator
from factoryos.connectivity.states import MachineState
from tests.connectivity.support import MemorySink, eventually, free_port, hand_set

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAST = PollerSettings(backoff_initial=0.05, backoff_cap=0.5, coalesce_window=0.01)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(4, protocol="opcua", seed=5, opcua_port=free_port(), tick=None)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture(loop_scope="session")
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
    machine = sim.machine(machine_id)
    poller = svc.poller
    assert poller is not None
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


async def test_exact_counts_states_and_batching(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    ids = [m.machine_id for m in sim.machines]
    for mid in ids:
        await sim.force_state(mid, SimCode.RUNNING)
        await observed(svc, sim, mid)

    a, b = sim.machines[0], sim.machines[1]
    expected_b = (1 << 32) - 3 - b.good
    await sim.set_counters(a.machine_id, good=a.good + 120, reject=a.reject + 4)
    await sim.set_counters(b.machine_id, good=(1 << 32) - 3)  # about to wrap its UInt32
    await observed(svc, sim, a.machine_id)
    await observed(svc, sim, b.machine_id)
    await sim.set_counters(b.machine_id, good=(1 << 32) + 6)  # wrapped: 9 more
    expected_b += 9
    await observed(svc, sim, b.machine_id)
    await sim.set_counters(a.machine_id, good=0, reject=0)  # PLC reset …
    await observed(svc, sim, a.machine_id)
    await sim.set_counters(a.machine_id, good=5, reject=2)  # … then production resumes
    await observed(svc, sim, a.machine_id)
    await sim.force_state(a.machine_id, SimCode.PLANNED_STOP)
    await eventually(lambda: svc.poller.status(a.machine_id).state is MachineState.PLANNED_STOP)  # type: ignore[union-attr]

    await delivered(svc)
    assert sink.counts(a.machine_id) == (125, 6)
    assert sink.counts(b.machine_id) == (expected_b, 0)
    assert all(sink.counts(m) == (0, 0) for m in ids[2:])
    assert [c.state for c in sink.states(a.machine_id)] == [MachineState.RUNNING, MachineState.PLANNED_STOP]

    assert svc.poller is not None
    (session,) = svc.poller.sessions.values()
    polls = sum(svc.poller.status(mid).polls for mid in ids)
    assert polls >= 2 * session.batches  # four machines, one Read request per round


async def test_machine_goes_away_and_comes_back(
    sim: Simulator, service: tuple[ConnectivityService, MemorySink]
) -> None:
    svc, sink = service
    poller = svc.poller
    assert poller is not None
    away, other = sim.machines[2], sim.machines[3]
    await sim.force_state(away.machine_id, SimCode.RUNNING)
    await observed(svc, sim, away.machine_id)

    await sim.set_reachable(away.machine_id, False)
    await eventually(lambda: poller.status(away.machine_id).state is MachineState.NO_DATA, what="no data")
    status = poller.status(away.machine_id)
    assert status.error_code == "signal_read_failed" and "BadNoCommunication" in (status.last_error or "")
    assert poller.status(other.machine_id).last_error is None

    await sim.set_counters(away.machine_id, good=away.good + 17, reject=away.reject + 1)
    await sim.set_reachable(away.machine_id, True)
    await observed(svc, sim, away.machine_id)
    await delivered(svc)
    assert sink.counts(away.machine_id) == (17, 1)
    assert [c.state for c in sink.states(away.machine_id)] == [
        MachineState.RUNNING,
        MachineState.NO_DATA,
        MachineState.RUNNING,
    ]
    offline = sink.states(away.machine_id)[1]
    assert offline.raw_code is None and "BadNoCommunication" in (offline.reason or "")


@pytest.mark.slow  # restarts the OPC-UA server and waits for the reconnect
async def test_server_restart_reconnects(sim: Simulator, service: tuple[ConnectivityService, MemorySink]) -> None:
    svc, sink = service
    poller = svc.poller
    assert poller is not None and sim.opcua is not None
    ids = [m.machine_id for m in sim.machines]
    for mid in ids:
        await observed(svc, sim, mid)

    await sim.opcua.stop()
    await eventually(lambda: all(poller.status(m).state is MachineState.NO_DATA for m in ids), what="no data")
    assert {poller.status(m).error_code for m in ids} == {"endpoint_unavailable"}
    first = sim.machines[0]
    await sim.set_counters(first.machine_id, good=first.good + 4)
    await sim.opcua.start()
    await eventually(lambda: all(poller.status(m).last_error is None for m in ids), timeout=20, what="reconnected")
    await observed(svc, sim, first.machine_id)
    await delivered(svc)
    assert sink.counts(first.machine_id) == (4, 0)
